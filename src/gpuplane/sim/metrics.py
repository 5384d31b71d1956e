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

from gpuplane.objects.gpu_request import GPU
from gpuplane.placement.fragmentation import FragmentationMeter, TargetWorkload
from gpuplane.queueing import Queueing, QuotaTree
from gpuplane.queueing.quota import QuotaNode
from gpuplane.sim.fairness import FloatArray, jain, water_fill
from gpuplane.sim.records import WorkloadRecord

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
    """Accumulates one run's metrics from what the simulator reports."""

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
        self.held = np.zeros(n)  # GPU milli of running workloads
        self.demand = np.zeros(n)  # GPU milli of running and waiting workloads
        self.fair = np.zeros(n)
        self.borrowed = np.zeros(n)
        self.held_integral = np.zeros(n)
        self.fair_integral = np.zeros(n)
        self._dirty: set[int] = set()
        self.meter = FragmentationMeter(target, queueing.state) if target is not None else None
        self.capacity_milli = 1000 * queueing.state.total_gpus
        self.allocated = 0
        self.pending = 0
        self.start: float | None = None
        self.last = 0.0
        self.jain_now = 1.0
        self.frag_now = 0.0
        # Integrals over time, in milli-GPU seconds (or index x seconds).
        self.used_integral = 0.0
        self.borrowed_integral = 0.0
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
        self.held[i] += gpu_milli
        self.allocated += gpu_milli
        self._dirty.add(i)

    def admitted(self, rec: WorkloadRecord) -> None:
        self.pending -= 1

    def stopped(self, rec: WorkloadRecord, gpu_milli: int) -> None:
        i = self.index[rec.queue]
        self.held[i] -= gpu_milli
        self.allocated -= gpu_milli
        self._dirty.add(i)

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
            return
        dt = now - self.last
        if dt <= 0:
            return
        self.used_integral += self.allocated * dt
        self.borrowed_integral += float(self.borrowed.sum()) * dt
        self.frag_integral += self.frag_now * dt
        self.held_integral += self.held * dt
        self.fair_integral += self.fair * dt
        if (self.fair > 0).any():
            self.jain_integral += self.jain_now * dt
            self.jain_time += dt
        self.last = now

    def observe(self, now: float) -> None:
        """Take in the state after an instant's events and admission cycle."""
        if self._dirty:
            shares = self.shares
            for i in sorted(self._dirty):
                self.borrowed[i] = self.queueing.borrowed_gpu_milli(self.queues[i])
            demand = self.demand
            for r in sorted({shares.root_of[i] for i in self._dirty}):
                members = shares.members[r]
                fair = water_fill(
                    [float(demand[i]) for i in members],
                    [shares.nominal[i] for i in members],
                    [shares.weight[i] for i in members],
                    shares.capacity[r],
                )
                self.fair[members] = fair
            wanting = self.fair > 0
            self.jain_now = jain(self.held[wanting] / self.fair[wanting])
            self._dirty.clear()
        if self.meter is not None:
            self.frag_now = self.meter.amount()
        self.times.append(now)
        self.allocated_series.append(self.allocated)
        self.frag_series.append(self.frag_now)
        self.pending_series.append(self.pending)

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


def _ratios(queues: Sequence[str], held: FloatArray, fair: FloatArray) -> dict[str, float]:
    """Held over fair GPU-time per queue that had a fair share at some point."""
    return {q: float(held[i] / fair[i]) for i, q in enumerate(queues) if fair[i] > 0}


def root_of(node: QuotaNode) -> QuotaNode:
    """The top of the cohort tree a node belongs to (itself without a cohort)."""
    while node.parent is not None:
        node = node.parent
    return node
