"""The discrete-event simulator: a virtual clock that drives the admission engine.

The loop, which decides nothing itself:

1. take every event of the earliest instant, in the order they were pushed: arrivals are
   submitted to the queues; completions finish their workload (releasing pods and quota);
   node failures evict the workloads with pods on the node (they are requeued) and mark its
   GPUs unhealthy so that nothing lands there until it recovers; GPU health events do the
   same for one GPU;
2. run one admission cycle (`Queueing.cycle`) with each running workload's expected end, for
   backfill; admitted workloads start, and each schedules its completion after the work it
   has left; preempted ones stop and are requeued by the engine;
3. let the metrics take in the new state.

A workload that is stopped keeps the work saved at its last checkpoint (`WorkloadRecord`);
the rest is lost and counted. A workload without a duration runs until it is stopped.
In quota-only mode (`placement_aware=False`) an admitted workload starts to run only when the
engine reports its pods placed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence

from gpuplane.placement.fragmentation import TargetWorkload, shape_of, target_workload
from gpuplane.placement.scheduler import Placement
from gpuplane.queueing import Admission, CycleResult, Eviction, Queueing, QuotaTree, Workload
from gpuplane.sim.core.events import (
    Arrival,
    Completion,
    Event,
    EventQueue,
    GpuHealth,
    NodeFailure,
    NodeRecovery,
    Wake,
)
from gpuplane.sim.core.metrics import Metrics, Report
from gpuplane.sim.core.records import WorkloadRecord

NODE_FAILURE = "NodeFailure"
GPU_UNHEALTHY = "GPUUnhealthy"

Check = Callable[["Simulator"], None]


class Simulator:
    """Runs one Queueing (and its ClusterState) through virtual time."""

    def __init__(
        self,
        queueing: Queueing,
        *,
        fair_tree: QuotaTree | None = None,
        fragmentation: bool = True,
        check: Check | None = None,
    ) -> None:
        self.queueing = queueing
        self.state = queueing.state
        self.events = EventQueue()
        self.records: dict[str, WorkloadRecord] = {}
        self.now = 0.0
        #: Called after every event and every cycle (tests check invariants with it).
        self.check = check
        #: Told every cycle's result (the control-plane metrics count admissions with it).
        self.cycle_observers: list[Callable[[CycleResult], None]] = []
        self.fair_tree = fair_tree
        self.fragmentation = fragmentation
        self.metrics: Metrics | None = None
        #: Wall-clock seconds spent inside Queueing.cycle, and inside its other calls (submit,
        #: finish, evict); how many cycles ran, and how many admissions they made (a workload
        #: admitted again after an eviction counts again).
        self.cycle_seconds = 0.0
        self.engine_seconds = 0.0
        self.cycles = 0
        self.admissions = 0
        self._submitted: list[Workload] = []
        self._placements: dict[str, tuple[Placement, ...]] = {}
        self._owner: dict[str, str] = {}  # pod key -> workload key
        #: Admitted workloads whose pods are not placed yet, with the GPU milli they hold.
        self._unplaced: dict[str, int] = {}
        self._down: set[int] = set()
        self._bad_gpus: set[tuple[int, int]] = set()
        self._wake_at: float | None = None

    # -- what will happen ------------------------------------------------------------------

    def submit(self, workloads: Iterable[Workload]) -> None:
        """Workloads that arrive at their `created` time."""
        for w in workloads:
            self._submitted.append(w)
            self.events.push(w.created, Arrival(w))

    def fail_node(self, node: str, at: float, recover_at: float | None = None) -> None:
        """Node `node` fails at `at` and, if `recover_at` is given, comes back then."""
        self._node_index(node)
        self.events.push(at, NodeFailure(node))
        if recover_at is not None:
            if recover_at < at:
                raise ValueError(f"node {node} cannot recover at {recover_at} before failing")
            self.events.push(recover_at, NodeRecovery(node))

    def gpu_health(self, node: str, gpu: int, at: float, healthy: bool) -> None:
        """GPU `gpu` of `node` turns unhealthy (or healthy again) at `at`."""
        i = self._node_index(node)
        if not 0 <= gpu < int(self.state.gpu_count[i]):
            raise ValueError(f"node {node} has no GPU {gpu}")
        self.events.push(at, GpuHealth(node, gpu, healthy))

    def _node_index(self, node: str) -> int:
        index = self.state.index.get(node)
        if index is None:
            raise ValueError(f"no node named {node}")
        return index

    # -- the loop --------------------------------------------------------------------------

    def run(
        self, until: float | None = None, *, stop: Callable[[Simulator], bool] | None = None
    ) -> Report:
        """Run until no event is left; returns the run's metrics.

        `until` stops before the first instant after it; `stop` after the first instant at
        whose end it returns True.
        """
        metrics = self.metrics = self._new_metrics()
        while (t := self._next_time()) is not None:
            if until is not None and t > until:
                break
            self.now = t
            metrics.advance(t)
            while self._next_time() == t:
                _, event = self.events.pop()
                self._handle(event)
                self._checked()
            self._cycle()
            self._checked()
            metrics.observe(t)
            if stop is not None and stop(self):
                break
        end = self.now if until is None else max(self.now, until)
        return metrics.report(self.records.values(), end)

    def _next_time(self) -> float | None:
        """When the next event that still matters happens.

        Completions of runs that were cut short, and wake-ups with nothing left waiting, are
        dropped: they are not events of the world, and must not stretch the run's end.
        """
        while (top := self.events.peek()) is not None:
            _, event = top
            stale = (isinstance(event, Completion) and not self._live(event)) or (
                isinstance(event, Wake) and not self._waiting()
            )
            if not stale:
                return top[0]
            self.events.pop()
        return None

    def _waiting(self) -> bool:
        """Whether anything waits for a cycle: queued, or admitted with its pods unplaced."""
        return bool(self.queueing.pending or self.queueing.unplaced())

    def _live(self, completion: Completion) -> bool:
        rec = self.records[completion.key]
        return rec.started is not None and rec.run == completion.run

    def _new_metrics(self) -> Metrics:
        target: TargetWorkload | None = None
        if self.fragmentation:
            target = target_workload(
                shape_of(ps.template)
                for w in self._submitted
                for ps in w.pod_sets
                for _ in range(ps.count)
            )
        return Metrics(self.queueing, fair_tree=self.fair_tree, target=target)

    def _checked(self) -> None:
        if self.check is not None:
            self.check(self)

    def _handle(self, event: Event) -> None:
        match event:
            case Arrival(workload):
                self._arrive(workload)
            case Completion(key, run):
                self._complete(key, run)
            case NodeFailure(node):
                i = self.state.index[node]
                self._down.add(i)
                self._evict_where(lambda b_node, _: b_node == i, NODE_FAILURE)
                self._refresh_health(i)
            case NodeRecovery(node):
                i = self.state.index[node]
                self._down.discard(i)
                self._refresh_health(i)
            case GpuHealth(node, gpu, healthy):
                i = self.state.index[node]
                if healthy:
                    self._bad_gpus.discard((i, gpu))
                else:
                    self._bad_gpus.add((i, gpu))
                    self._evict_where(
                        lambda b_node, gpus: b_node == i and gpu in gpus, GPU_UNHEALTHY
                    )
                self._refresh_health(i)
            case Wake():
                pass

    def _arrive(self, w: Workload) -> None:
        if w.key in self.records:
            raise ValueError(f"workload {w.key} was submitted twice")
        queue = self.queueing.queue_of(w) or ""
        rec = WorkloadRecord(w, queue, self.now, w.gpu_milli())
        self.records[w.key] = rec
        began = time.perf_counter()
        reason = self.queueing.submit(w, self.now)
        self.engine_seconds += time.perf_counter() - began
        if reason is not None:
            rec.rejected = reason
            return
        self._metrics().arrived(rec)

    def _complete(self, key: str, run: int) -> None:
        rec = self.records[key]
        if rec.started is None or rec.run != run:
            return  # the run this completion belonged to was stopped (earlier at this instant)
        began = time.perf_counter()
        self.queueing.finish(key, self.now)
        self.engine_seconds += time.perf_counter() - began
        self._metrics().stopped(rec, self._unbind(key))
        rec.started = None
        rec.progress = rec.duration or 0.0
        rec.finished = self.now
        self._metrics().finished(rec)

    def _evict_where(self, hit: Callable[[int, Sequence[int]], bool], reason: str) -> None:
        """Evict (and requeue) every workload with a pod bound where `hit(node, gpus)`."""
        keys = dict.fromkeys(
            self._owner[b.pod] for b in self.state.bindings.values() if hit(b.node, b.gpus)
        )
        for key in keys:
            began = time.perf_counter()
            eviction = self.queueing.evict(key, self.now, reason)
            self.engine_seconds += time.perf_counter() - began
            self._stopped(eviction)

    def _refresh_health(self, i: int) -> None:
        recovered = False
        for g in range(int(self.state.gpu_count[i])):
            healthy = i not in self._down and (i, g) not in self._bad_gpus
            if bool(self.state.gpu_healthy[i, g]) != healthy:
                self.state.set_gpu_health(i, g, healthy)
                self._metrics().health_changed()
                recovered |= healthy
        if recovered:
            self._capacity_added()

    def _capacity_added(self) -> None:
        """GPUs came back: queues waiting for room must be looked at again."""
        self.queueing.capacity_added()

    # -- the cycle -------------------------------------------------------------------------

    def _cycle(self) -> None:
        began = time.perf_counter()
        result = self.queueing.cycle(self.now, self._expected_end)
        self.cycle_seconds += time.perf_counter() - began
        self.cycles += 1
        self.admissions += len(result.admitted)
        for observe in self.cycle_observers:
            observe(result)
        # One cycle may admit, preempt and admit again the same workload (the engine runs
        # several passes), and the result's lists do not say in which order. Only the net
        # effect matters at one instant: a workload that ran before and was evicted stops
        # (losing work); whatever the engine holds admitted and placed at the end runs.
        placed: dict[str, Admission] = {}
        for admission in result.admitted:
            rec = self.records[admission.workload.key]
            if rec.first_admitted is None:
                rec.first_admitted = self.now
            self._metrics().admitted()
            placed[rec.workload.key] = admission
        for admission in result.placed_late:
            placed[admission.workload.key] = admission
        for eviction in result.evicted:
            self._stopped(eviction)
        for key, admission in placed.items():
            if self._runs(key) and not self.records[key].running:
                self._start(admission)
        for admission in result.admitted:
            key = admission.workload.key
            rec = self.records[key]
            # Admitted, quota reserved, pods not placed: the quota sits idle until they are.
            if key in self.queueing.active and not rec.running and key not in self._unplaced:
                self._unplaced[key] = rec.gpu_milli
                self._metrics().held_unplaced(rec.gpu_milli)
        self._wake_for_reservation()
        if any(not a.placed for a in result.admitted):
            # Workaround: in quota-only mode the engine places what it admitted only at the
            # start of its next cycle; run that cycle now rather than at the next event.
            self.events.push(self.now, Wake())

    def _runs(self, key: str) -> bool:
        """Whether the engine holds `key` admitted with its pods placed."""
        active = self.queueing.active.get(key)
        return active is not None and bool(active.placements)

    def _start(self, admission: Admission) -> None:
        key = admission.workload.key
        rec = self.records[key]
        self._placements[key] = admission.placements
        for p in admission.placements:
            self._owner[p.pod.key] = key
        run = rec.start(self.now)
        self._placed(key)
        self._metrics().started(rec, sum(sum(p.gpu_milli) for p in admission.placements))
        end = rec.expected_end()
        if end is not None:
            self.events.push(end, Completion(key, run))

    def _stopped(self, eviction: Eviction) -> None:
        rec = self.records[eviction.workload.key]
        lost = rec.stop(self.now)
        rec.evictions += 1
        metrics = self._metrics()
        self._placed(rec.workload.key)  # evicted before its pods ran: its quota is freed
        metrics.stopped(rec, self._unbind(rec.workload.key))
        metrics.evicted(rec, eviction.reason, lost)

    def _placed(self, key: str) -> None:
        """The workload's quota no longer sits idle waiting for its pods to be placed."""
        held = self._unplaced.pop(key, 0)
        if held:
            self._metrics().held_unplaced(-held)

    def _unbind(self, key: str) -> int:
        """Forget where a workload's pods were; returns the GPU milli they held."""
        placements = self._placements.pop(key, ())
        for p in placements:
            self._owner.pop(p.pod.key, None)
        return sum(sum(p.gpu_milli) for p in placements)

    def _expected_end(self, key: str) -> float | None:
        rec = self.records.get(key)
        return rec.expected_end() if rec is not None else None

    def _wake_for_reservation(self) -> None:
        """Make sure a cycle runs when a blocked gang's reservation times out."""
        reservation = self.queueing.reservation
        timeout = self.queueing.config.gang_timeout
        if reservation is None or timeout is None:
            return
        at = reservation.since + timeout
        if at > self.now and at != self._wake_at:
            self._wake_at = at
            self.events.push(at, Wake())

    def _metrics(self) -> Metrics:
        if self.metrics is None:
            raise RuntimeError("the simulation has not started")
        return self.metrics

    # -- reading ---------------------------------------------------------------------------

    def placements(self, key: str) -> tuple[Placement, ...]:
        """Where a running workload's pods are (empty when it is not running)."""
        return self._placements.get(key, ())
