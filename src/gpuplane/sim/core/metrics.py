"""Metrics of a simulation: waits, completion times, GPU use over time, GPU-hours, fairness.

The simulator tells the meter what happens (a workload arrives, starts, stops, finishes) and
calls `advance(now)` before it changes anything at an instant and `observe(now)` after the
admission cycle, so that every quantity is a step function of time integrated exactly:
between two instants nothing changes.

Definitions:

* wait: from arrival to first admission; completion time (JCT): from arrival to finish.
* GPU-hours used: the integral of allocated GPU (whole and fractional); borrowed: of the GPU
  quota ClusterQueues use beyond their own (usage above their subtree quota, as QuotaTree
  counts it); lost: GPU x seconds of work thrown away by evictions, split by reason.
* utilization: GPU-hours used over the cluster's GPU-hours from the first arrival to the end.
* fragmentation: FGD's F(M) in milli-GPU against the workloads' own shape mix.
* fairness: each queue's held GPU against its fair share (see `fairness`), per queue as the
  ratio of the two integrals, and as the time average of Jain's index over the queues that
  want GPU at each instant.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from gpuplane.catalog.resources import GPU
from gpuplane.placement.fragmentation import FragmentationMeter, TargetWorkload
from gpuplane.queueing import Queueing, QuotaTree
from gpuplane.queueing.quota import QuotaNode
from gpuplane.sim.core.fairness import water_fill
from gpuplane.sim.core.records import WorkloadRecord

HOUR = 3600.0
PREEMPTED = "Preempted"


@dataclass(frozen=True)
class Percentiles:
    """p50, p95, p99 and mean of a sample (NaN when it is empty), in seconds."""

    count: int
    p50: float
    p95: float
    p99: float
    mean: float

    @staticmethod
    def of(values: Sequence[float]) -> Percentiles:
        if not values:
            nan = float("nan")
            return Percentiles(0, nan, nan, nan, nan)
        x = np.asarray(values, dtype=np.float64)
        p50, p95, p99 = (float(v) for v in np.percentile(x, [50, 95, 99]))
        return Percentiles(int(x.size), p50, p95, p99, float(x.mean()))


@dataclass(frozen=True)
class Series:
    """Values after each instant: the state holds from times[k] until times[k + 1]."""

    times: tuple[float, ...]
    allocated_milli: tuple[int, ...]
    fragmentation_milli: tuple[float, ...]
    pending: tuple[int, ...]


@dataclass(frozen=True)
class Report:
    """Everything measured in one run."""

    submitted: int
    rejected: int
    admitted: int
    finished: int
    wait: Percentiles
    wait_by_queue: Mapping[str, Percentiles]
    jct: Percentiles
    gpu_hours_used: float
    gpu_hours_borrowed: float
    #: GPU quota held by workloads admitted but not yet placed (quota-only admission): the
    #: GPU-hours a placement-aware check would have left to others.
    gpu_hours_held_unplaced: float
    gpu_hours_lost: Mapping[str, float]  # by eviction reason
    utilization: float
    mean_fragmentation_milli: float
    jain: float
    share_vs_fair: Mapping[str, float]
    preemptions: int
    evictions: Mapping[str, int]
    gang_timeouts: int
    end: float
    series: Series = field(repr=False)

    @property
    def gpu_hours_lost_to_preemption(self) -> float:
        return self.gpu_hours_lost.get(PREEMPTED, 0.0)


class _Shares:
    """Per-queue GPU nominal quota, weight and cohort root of a reference QuotaTree."""

    def __init__(self, queues: Sequence[str], tree: QuotaTree) -> None:
        self.nominal = [_gpu(tree.nodes[q].nominal) for q in queues]
        self.weight = [tree.nodes[q].fair_weight for q in queues]
        roots: dict[str, list[int]] = {}
        self.capacity: list[float] = []
        for i, name in enumerate(queues):
            root = root_of(tree.nodes[name])
            if root.name not in roots:
                roots[root.name] = []
                self.capacity.append(_gpu(root.subtree))
            roots[root.name].append(i)
        self.members = list(roots.values())
        self.root_of = [0] * len(queues)
        for r, members in enumerate(self.members):
            for i in members:
                self.root_of[i] = r


def _gpu(amounts: Mapping[tuple[str, str], int]) -> float:
    return float(sum(a for (_, resource), a in amounts.items() if resource == GPU))


class Metrics:
    """Accumulates one run's metrics from what the simulator reports.

    Per-queue amounts are integrated lazily (a queue's integral is brought up to date only
    when its values change) and Jain's index is kept as running sums, so an instant costs
    in proportion to what changed in it, not to the number of queues.
    """

    def __init__(
        self,
        queueing: Queueing,
        *,
        fair_tree: QuotaTree | None = None,
        target: TargetWorkload | None = None,
    ) -> None:
        self.queueing = queueing
        self.queues = list(queueing.queues)
        self.index = {q: i for i, q in enumerate(self.queues)}
        self.shares = _Shares(self.queues, fair_tree or queueing.tree)
        n = len(self.queues)
        self.held = [0.0] * n  # GPU milli of running workloads
        self.demand = [0.0] * n  # GPU milli of running and waiting workloads
        self.fair = [0.0] * n
        self.borrowed = [0.0] * n
        self.held_integral = [0.0] * n
        self.fair_integral = [0.0] * n
        self._since = [0.0] * n  # when each queue's integrals were last brought up to date
        self._dirty: set[int] = set()
        # Jain's index over x = held / fair of the queues with a fair share: n, sum, sum of x^2.
        self._x = [-1.0] * n
        self._jain_n = 0
        self._jain_s1 = 0.0
        self._jain_s2 = 0.0
        self._jain_updates = 0
        self.meter = FragmentationMeter(target, queueing.state) if target is not None else None
        self._cluster_changed = True  # whether fragmentation must be measured again
        self.capacity_milli = 1000 * queueing.state.total_gpus
        self.allocated = 0
        self.borrowed_total = 0.0
        self.pending = 0
        self.start: float | None = None
        self.last = 0.0
        self.jain_now = 1.0
        self.frag_now = 0.0
        # Integrals over time, in milli-GPU seconds (or index x seconds).
        self.used_integral = 0.0
        self.borrowed_integral = 0.0
        self.unplaced = 0  # GPU milli of admitted workloads whose pods are not placed
        self.unplaced_integral = 0.0
        self.frag_integral = 0.0
        self.jain_integral = 0.0
        self.jain_time = 0.0
        self.lost: dict[str, float] = {}
        self.evictions: dict[str, int] = {}
        self.times: list[float] = []
        self.allocated_series: list[int] = []
        self.frag_series: list[float] = []
        self.pending_series: list[int] = []

    # -- what happened ---------------------------------------------------------------------

    def arrived(self, rec: WorkloadRecord) -> None:
        i = self.index[rec.queue]
        self.demand[i] += rec.gpu_milli
        self.pending += 1
        self._dirty.add(i)

    def started(self, rec: WorkloadRecord, gpu_milli: int) -> None:
        """A run began, holding `gpu_milli` of GPU on nodes (zero when not yet placed)."""
        i = self.index[rec.queue]
        self._flush(i)
        self.held[i] += gpu_milli
        self.allocated += gpu_milli
        self._dirty.add(i)
        self._cluster_changed = True

    def admitted(self) -> None:
        self.pending -= 1

    def held_unplaced(self, gpu_milli: int) -> None:
        """Quota of admitted workloads not yet placed grew (or, negative, shrank) by this."""
        self.unplaced += gpu_milli

    def stopped(self, rec: WorkloadRecord, gpu_milli: int) -> None:
        i = self.index[rec.queue]
        self._flush(i)
        self.held[i] -= gpu_milli
        self.allocated -= gpu_milli
        self._dirty.add(i)
        self._cluster_changed = True

    def health_changed(self) -> None:
        """GPUs turned unhealthy or healthy: the free GPU that fragmentation sees changed."""
        self._cluster_changed = True

    def evicted(self, rec: WorkloadRecord, reason: str, lost_seconds: float) -> None:
        self.pending += 1
        self.evictions[reason] = self.evictions.get(reason, 0) + 1
        self.lost[reason] = self.lost.get(reason, 0.0) + lost_seconds * rec.gpu_milli

    def finished(self, rec: WorkloadRecord) -> None:
        i = self.index[rec.queue]
        self.demand[i] -= rec.gpu_milli
        self._dirty.add(i)

    # -- the clock -------------------------------------------------------------------------

    def advance(self, now: float) -> None:
        """Integrate the state since the last instant up to `now` (before anything changes)."""
        if self.start is None:
            self.start = self.last = now
            self._since = [now] * len(self.queues)
            return
        dt = now - self.last
        if dt <= 0:
            return
        self.used_integral += self.allocated * dt
        self.borrowed_integral += self.borrowed_total * dt
        self.unplaced_integral += self.unplaced * dt
        self.frag_integral += self.frag_now * dt
        if self._jain_n:
            self.jain_integral += self.jain_now * dt
            self.jain_time += dt
        self.last = now

    def _flush(self, i: int) -> None:
        """Bring queue i's integrals up to now, before its values change."""
        dt = self.last - self._since[i]
        if dt > 0:
            self.held_integral[i] += self.held[i] * dt
            self.fair_integral[i] += self.fair[i] * dt
        self._since[i] = self.last

    def observe(self, now: float) -> None:
        """Take in the state after an instant's events and admission cycle."""
        if self._dirty:
            self._refresh_shares()
        if self.meter is not None and self._cluster_changed:
            self.frag_now = self.meter.amount()
        self._cluster_changed = False
        self.times.append(now)
        self.allocated_series.append(self.allocated)
        self.frag_series.append(self.frag_now)
        self.pending_series.append(self.pending)

    def _refresh_shares(self) -> None:
        """Borrowing, fair shares and Jain's terms of the queues touched at this instant."""
        shares = self.shares
        dirty = sorted(self._dirty)
        self._dirty.clear()
        for i in dirty:
            borrowed = float(self.queueing.borrowed_gpu_milli(self.queues[i]))
            self.borrowed_total += borrowed - self.borrowed[i]
            self.borrowed[i] = borrowed
        touched = set(dirty)
        for r in sorted({shares.root_of[i] for i in dirty}):
            members = shares.members[r]
            fair = water_fill(
                [self.demand[i] for i in members],
                [shares.nominal[i] for i in members],
                [shares.weight[i] for i in members],
                shares.capacity[r],
            )
            for i, f in zip(members, fair, strict=True):
                if f != self.fair[i]:
                    self._flush(i)
                    self.fair[i] = f
                    touched.add(i)
        for i in sorted(touched):
            self._set_x(i)
        self._jain_updates += 1
        if self._jain_updates % 4096 == 0:
            self._resum()  # running sums drift; start them afresh now and then
        n, s1, s2 = self._jain_n, self._jain_s1, self._jain_s2
        self.jain_now = s1 * s1 / (n * s2) if n and s2 > 1e-12 else 1.0

    def _set_x(self, i: int) -> None:
        """Queue i's held / fair share in Jain's sums (-1 while it has no fair share)."""
        old = self._x[i]
        new = self.held[i] / self.fair[i] if self.fair[i] > 0 else -1.0
        self._x[i] = new
        self._resum_one(old, new)

    def _resum_one(self, old: float, new: float) -> None:
        if old >= 0:
            self._jain_n -= 1
            self._jain_s1 -= old
            self._jain_s2 -= old * old
        if new >= 0:
            self._jain_n += 1
            self._jain_s1 += new
            self._jain_s2 += new * new

    def _resum(self) -> None:
        xs = [x for x in self._x if x >= 0]
        self._jain_n = len(xs)
        self._jain_s1 = sum(xs)
        self._jain_s2 = sum(x * x for x in xs)

    # -- the result ------------------------------------------------------------------------

    def report(self, records: Iterable[WorkloadRecord], end: float) -> Report:
        """The run's figures, with the state held until `end`."""
        self.advance(end)
        recs = list(records)
        waits: dict[str, list[float]] = {q: [] for q in self.queues}
        all_waits: list[float] = []
        jcts: list[float] = []
        for r in recs:
            if r.first_admitted is not None:
                wait = r.first_admitted - r.arrival
                waits[r.queue].append(wait)
                all_waits.append(wait)
            if r.finished is not None:
                jcts.append(r.finished - r.arrival)
        for i in range(len(self.queues)):
            self._flush(i)
        span = end - (self.start if self.start is not None else end)
        milli_hours = 1000 * HOUR
        share = _ratios(self.queues, self.held_integral, self.fair_integral)
        return Report(
            submitted=len(recs),
            rejected=sum(1 for r in recs if r.rejected is not None),
            admitted=sum(1 for r in recs if r.first_admitted is not None),
            finished=len(jcts),
            wait=Percentiles.of(all_waits),
            wait_by_queue={q: Percentiles.of(w) for q, w in waits.items()},
            jct=Percentiles.of(jcts),
            gpu_hours_used=self.used_integral / milli_hours,
            gpu_hours_borrowed=self.borrowed_integral / milli_hours,
            gpu_hours_held_unplaced=self.unplaced_integral / milli_hours,
            gpu_hours_lost={k: v / milli_hours for k, v in sorted(self.lost.items())},
            utilization=(
                self.used_integral / (self.capacity_milli * span)
                if span > 0 and self.capacity_milli
                else 0.0
            ),
            mean_fragmentation_milli=self.frag_integral / span if span > 0 else 0.0,
            jain=self.jain_integral / self.jain_time if self.jain_time > 0 else 1.0,
            share_vs_fair=share,
            preemptions=self.evictions.get(PREEMPTED, 0),
            evictions=dict(sorted(self.evictions.items())),
            gang_timeouts=self.queueing.gang_timeouts,
            end=end,
            series=Series(
                tuple(self.times),
                tuple(self.allocated_series),
                tuple(self.frag_series),
                tuple(self.pending_series),
            ),
        )


def _ratios(
    queues: Sequence[str], held: Sequence[float], fair: Sequence[float]
) -> dict[str, float]:
    """Held over fair GPU-time per queue that had a fair share at some point."""
    return {q: held[i] / fair[i] for i, q in enumerate(queues) if fair[i] > 0}


def root_of(node: QuotaNode) -> QuotaNode:
    """The top of the cohort tree a node belongs to (itself without a cohort)."""
    while node.parent is not None:
        node = node.parent
    return node
