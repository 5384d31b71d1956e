"""The admission engine: a thin cycle over the parts Kueue has, with its faults removed.

`pending` (queues, ordering, wake-ups), `usage` (quota with cohorts, namespace ResourceQuota),
`gangs` (placement-aware, all-or-nothing admission; with `placement_aware=False` admission
looks at quota only, as Kueue does, and pods wait admitted until room appears), `preemption`
(the cheapest whole workloads to evict) and `backfill` (a blocked gang's reservation). Time
comes in as `now` (seconds); the engine never reads a clock.
"""

from __future__ import annotations

import heapq

from gpuplane.catalog.resources import GPU
from gpuplane.placement.scheduler import Placement, Scheduler
from gpuplane.queueing.backfill import Backfill, ExpectedEnd, Reservation
from gpuplane.queueing.flavor_cache import FlavorCache
from gpuplane.queueing.flavors import FlavorChoice
from gpuplane.queueing.gangs import GangPlacer, Moment, workload_shape
from gpuplane.queueing.outcomes import Admission, CycleResult, Eviction, QueueingConfig
from gpuplane.queueing.pending import PendingQueues, admits_namespace
from gpuplane.queueing.preemption import VictimSearch
from gpuplane.queueing.proportion import with_capacity
from gpuplane.queueing.quota import FlavorResource, QuotaTree
from gpuplane.queueing.refusals import Reason, Refusal
from gpuplane.queueing.usage import Active, AdmittedUsage
from gpuplane.queueing.workload import Workload

__all__ = ["Admission", "CycleResult", "Eviction", "ExpectedEnd", "Queueing", "QueueingConfig"]

CANNOT_PLACE = Reason(Refusal.CANNOT_PLACE)
Amounts = dict[FlavorResource, int]


class Queueing:
    """Admission over one ClusterState, through one Scheduler."""

    def __init__(self, scheduler: Scheduler, config: QueueingConfig) -> None:
        self.scheduler = scheduler
        self.state = scheduler.state
        self.config = config = with_capacity(config, self.state)
        self.tree = QuotaTree(config.cluster_queues, config.cohorts)
        self.queues = {q.name: q for q in config.cluster_queues}
        self.local = {(lq.namespace, lq.name): lq.cluster_queue for lq in config.local_queues}
        self.flavors = {f.name: f for f in config.flavors}
        self.admitted = AdmittedUsage(self.tree, list(self.queues), config.resource_quotas)
        self.pending_queues = PendingQueues(self.queues, self.tree, config.scan_limit)
        self.gangs = GangPlacer(scheduler, self.flavors)
        self.victims = VictimSearch(
            self.queues,
            self.admitted,
            self.gangs,
            self.pending_queues.members,
            fair_sharing=config.fair_sharing and config.fair_preemption,
            placement_aware=config.placement_aware,
        )
        self.flavor_cache = FlavorCache(self.tree, self.flavors, self.victims.possibility)
        self.backfill = Backfill(
            self.gangs, self.admitted, self.pending_queues,
            enabled=config.backfill, gang_timeout=config.gang_timeout,
        )
        #: Why each pending workload is waiting.
        self.reasons: dict[str, Reason] = {}
        self.preemptions = 0
        self.gang_timeouts = 0

    @property
    def active(self) -> dict[str, Active]:
        """Admitted workloads by key."""
        return self.admitted.active

    @property
    def reservation(self) -> Reservation | None:
        return self.backfill.reservation

    @property
    def pending(self) -> int:
        return len(self.pending_queues)

    def pending_in(self, queue: str) -> int:
        return self.pending_queues.count(queue)

    def queue_of(self, workload: Workload) -> str | None:
        q = self.local.get((workload.namespace, workload.queue))  # inactive if its CQ is missing
        return q if q in self.queues else None

    def submit(self, workload: Workload, now: float) -> str | None:
        """Queue a workload; returns None, or why it can never be queued (unknown queue)."""
        queue = self.queue_of(workload)
        if queue is None:
            lq = f"{workload.namespace}/{workload.queue}"
            return f"LocalQueue {lq} does not exist or names no ClusterQueue (inactive)"
        cq = self.queues[queue]
        if not admits_namespace(cq, workload):
            return f"namespace {workload.namespace} is not allowed in ClusterQueue {queue}"
        self.pending_queues.push(workload, queue)
        return None

    def capacity_added(self) -> None:
        """Nodes or GPUs came back (recovery): every queue with pending work looks again."""
        self.pending_queues.wake_all()

    # -- the admission cycle ---------------------------------------------------------------

    def cycle(self, now: float, expected_end: ExpectedEnd | None = None) -> CycleResult:
        """Try to admit pending workloads; returns what was admitted and who was evicted.

        Only queues that something happened to since they last failed are looked at, each
        through its first `scan_limit` workloads, so a cycle costs the same whatever the
        backlog. Queues compete head against head (borrowing, fair share, priority, age).
        """
        result = CycleResult()
        if self.admitted.unplaced:
            result.placed_late += self.gangs.place_admitted(self.admitted, now)
        timed_out = self.backfill.expire(now)
        if timed_out is not None:
            self.gang_timeouts += 1
            result.timed_out.append(timed_out)
        for _ in range(3):  # evictions in one pass wake queues for the next
            if not self.pending_queues.dirty:
                break
            self._pass(now, expected_end, result)
        # Preempted workloads queue again after the cycle (as in Kueue), or they flip-flop.
        for eviction in result.evicted:
            self.pending_queues.push(eviction.workload, eviction.queue)
        return result

    def _pass(self, now: float, expected_end: ExpectedEnd | None, result: CycleResult) -> None:
        pending = self.pending_queues
        work: list[tuple[tuple[int, float, int, float], int, str]] = []
        for queue in pending.take_dirty():
            head = pending.peek(queue)
            if head is not None:
                heapq.heappush(work, (self._order(queue, head), pending.sequence(), queue))
        # The gang holding the reservation is tried first, wherever it stands in its queue:
        # everything it blocks waits for it, so it must never be out of sight.
        r = self.reservation
        if r is not None and r.key in pending:
            outcome = self._try(pending.get(r.key), r.queue, now, expected_end, result)
            if outcome is not None:
                self.reasons[r.key] = outcome
        # A pass ends after this many attempts in a row admit nothing: the queues not reached
        # wait for the next change, like the ones that failed. It bounds a pass whatever the
        # number of queues or the backlog; queues are reached best first (share, priority, age).
        budget = 4 * self.config.scan_limit
        misses = 0
        unplaceable: dict[int, Moment] = {}
        while work:
            _, _, queue = heapq.heappop(work)
            if misses >= budget:
                pending.waiting_capacity.add(queue)
                continue
            admitted = False
            needs_room = False
            for workload in pending.heads(queue):
                shape = workload_shape(workload)
                if unplaceable and unplaceable.get(shape) == self.gangs.moment():
                    # The same pods found no room a moment ago and nothing has changed since:
                    # refused without another attempt, and not counted against the pass.
                    self.reasons[workload.key] = CANNOT_PLACE
                    needs_room = True
                    continue
                outcome = self._try(workload, queue, now, expected_end, result)
                if outcome is None:
                    admitted = True
                    break
                self.reasons[workload.key] = outcome
                if outcome.refusal is Refusal.CANNOT_PLACE:
                    unplaceable[shape] = self.gangs.moment()
                misses += 1
                needs_room = needs_room or outcome.refusal.needs_room
                if pending.strict(queue):
                    break
            if admitted:
                misses = 0
                head = pending.peek(queue)
                if head is not None:
                    heapq.heappush(work, (self._order(queue, head), pending.sequence(), queue))
            elif needs_room:
                # Blocked by the cluster, not by quota: room freed anywhere may help. (Quota
                # released in its own cohort tree wakes every queue of the tree anyway.)
                pending.waiting_capacity.add(queue)

    def _order(self, queue: str, w: Workload) -> tuple[int, float, int, float]:
        # As Kueue orders heads: within the queue's quota before borrowing, then (fair sharing)
        # the lowest share after admission, then priority, then age.
        share, borrows, got = 0.0, 0, self._flavors(w, queue)
        if not isinstance(got, Reason):
            borrows = int(self.admitted.borrowing(queue, got[1]))
            if self.config.fair_sharing:
                share = self.tree.share(self.tree.nodes[queue], got[1])
        return (borrows, share, -w.priority, w.created)

    def _try(
        self,
        w: Workload,
        queue: str,
        now: float,
        expected_end: ExpectedEnd | None,
        result: CycleResult,
    ) -> Reason | None:
        """Admit `w` if possible (preempting if allowed); None on success, else the reason."""
        over = self.admitted.namespace_refusal(w, w.requests())
        if over is not None:
            return Reason(Refusal.NAMESPACE_QUOTA, over)
        got = self._flavors(w, queue)
        if isinstance(got, Reason):
            return got
        choice, amounts = got
        if self.backfill.held_elsewhere(w, now):
            return Reason(Refusal.RESERVED)
        if choice.fits and self.tree.fits(queue, amounts):
            if not self.config.placement_aware:
                self._admit(w, queue, choice, amounts, [], now, result)
                return None
            placements = self.gangs.place_all(w, choice)
            if placements is not None:
                self._admit(w, queue, choice, amounts, placements, now, result)
                return None
            victims = self.victims.find(w, queue, amounts, choice, now, need_quota=False)
            if victims is None:
                self.backfill.reserve(w, queue, now, expected_end)
                return CANNOT_PLACE
        else:
            victims = self.victims.find(w, queue, amounts, choice, now, need_quota=True)
            if victims is None:
                return Reason(Refusal.INSUFFICIENT_QUOTA)
        for victim in victims:
            result.evicted.append(self._evict(victim, now, "Preempted", w.key, requeue=False))
            self.preemptions += 1
        placements = self.gangs.place_all(w, choice) if self.config.placement_aware else []
        if placements is None:  # cannot happen: victims were chosen so that it fits
            raise RuntimeError(f"{w.key} did not fit after preempting {victims}")
        self._admit(w, queue, choice, amounts, placements, now, result)
        return None

    def _flavors(self, w: Workload, queue: str) -> tuple[FlavorChoice, Amounts] | Reason:
        got = self.flavor_cache.get(self.queues[queue], w)
        return Reason(Refusal.NO_FLAVOR, got) if isinstance(got, str) else got

    def _admit(
        self,
        w: Workload,
        queue: str,
        choice: FlavorChoice,
        amounts: Amounts,
        placements: list[Placement],
        now: float,
        result: CycleResult,
    ) -> None:
        self.pending_queues.take(w.key)
        if len(placements) < w.pod_count:
            self.admitted.unplaced.add(w.key)
        self.reasons.pop(w.key, None)
        borrowing = self.admitted.borrowing(queue, amounts)
        self.admitted.add(Active(w, queue, amounts, choice.flavors, placements, now, borrowing))
        self.backfill.admitted(w.key)
        result.admitted.append(
            Admission(w, queue, choice.flavors, tuple(placements), borrowing, now)
        )

    def unplaced(self) -> list[str]:
        """Admitted workloads whose pods are not running (only in quota-only mode)."""
        return sorted(self.admitted.unplaced)

    # -- finishing and evicting ------------------------------------------------------------

    def finish(self, key: str, now: float) -> None:
        """A workload completed: release its pods and its quota."""
        self._release(key)

    def evict(self, key: str, now: float, reason: str, requeue: bool = True) -> Eviction:
        """Stop a running workload (node failure, ...), optionally queueing it again."""
        return self._evict(key, now, reason, requeue=requeue)

    def _evict(
        self, key: str, now: float, reason: str, by: str | None = None, requeue: bool = True
    ) -> Eviction:
        active = self._release(key)
        lost = active.lost_work(now)
        if requeue:
            self.pending_queues.push(active.workload, active.queue)
        return Eviction(active.workload, active.queue, reason, now, lost, by)

    def _release(self, key: str) -> Active:
        active = self.admitted.remove(key)
        self.pending_queues.wake(active.queue)
        for p in active.placements:
            self.state.release(p.pod.key)
        return active

    def usage(self, queue: str) -> Amounts:
        return dict(self.tree.nodes[queue].usage)

    def borrowed_gpu_milli(self, queue: str) -> int:
        node = self.tree.nodes[queue]
        return sum(self.tree.borrowed(node, fr) for fr in node.usage if fr[1] == GPU)

