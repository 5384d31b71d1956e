"""The admission engine: queues, quota, placement-aware admission, preemption, gangs, backfill.

It is Kueue's model with its faults removed:

* Workloads wait in ClusterQueues (reached through LocalQueues), ordered by priority, then
  arrival. StrictFIFO: a head that cannot be admitted blocks its queue. BestEffortFIFO: it
  steps aside and the next ones are tried (up to `scan_limit` per queue and cycle, which keeps
  a cycle's cost independent of the backlog).
* Quota per flavor and resource, with cohorts that lend and borrow (QuotaTree).
* Placement-aware admission: a workload is admitted only if the placement engine places all
  its pods now, so nothing admitted waits unschedulable on fragmented GPUs. With
  `placement_aware=False` admission looks at quota only, as Kueue does: pods that cannot be
  placed stay admitted and unplaced until room appears (kept to show the difference).
* All or nothing: a workload's pods are bound together or not at all (a gang is never half
  running), and preemption evicts whole workloads.
* A gang that fits its quota but not the cluster holds a reservation: later workloads may
  backfill only if they are expected to finish before the time the gang could start, so they
  cannot delay it. After `gang_timeout` seconds the gang gives the reservation up and goes to
  the back of its queue (Kueue's requeue after waitForPodsReady).

Time comes in as `now` (seconds); the engine never reads a clock.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from gpuplane.objects.gpu_request import GPU
from gpuplane.objects.policy import ResourceQuota
from gpuplane.objects.queues import (
    ClusterQueue,
    Cohort,
    LocalQueue,
    QueueingStrategy,
    ResourceFlavor,
)
from gpuplane.placement.scheduler import Placement, Scheduler
from gpuplane.queueing.flavors import FlavorChoice, assign_flavors, with_flavor
from gpuplane.queueing.preemption import (
    Running,
    borrow_allows,
    reclaim_allows,
    victim_order,
    within_queue_allows,
)
from gpuplane.queueing.quota import FlavorResource, QuotaNode, QuotaTree
from gpuplane.queueing.workload import Workload

ExpectedEnd = Callable[[str], float | None]


@dataclass(frozen=True)
class QueueingConfig:
    cluster_queues: Sequence[ClusterQueue]
    local_queues: Sequence[LocalQueue]
    flavors: Sequence[ResourceFlavor] = ()
    cohorts: Sequence[Cohort] = ()
    resource_quotas: Sequence[ResourceQuota] = ()
    placement_aware: bool = True
    fair_sharing: bool = False
    backfill: bool = True
    gang_timeout: float | None = None
    scan_limit: int = 8


@dataclass(frozen=True)
class Admission:
    workload: Workload
    queue: str
    flavors: Mapping[str, str]
    placements: tuple[Placement, ...]
    borrowing: bool
    at: float

    @property
    def placed(self) -> bool:
        return len(self.placements) == self.workload.pod_count


@dataclass(frozen=True)
class Eviction:
    workload: Workload
    queue: str
    reason: str  # "Preempted", "NodeFailure", ...
    at: float
    lost_work: float
    by: str | None = None


@dataclass
class CycleResult:
    admitted: list[Admission] = field(default_factory=list)
    evicted: list[Eviction] = field(default_factory=list)
    #: Workloads that were admitted by quota earlier and got their pods placed now.
    placed_late: list[Admission] = field(default_factory=list)
    #: Gangs that gave up their reservation after gang_timeout.
    timed_out: list[str] = field(default_factory=list)


@dataclass
class _Active:
    workload: Workload
    queue: str
    amounts: dict[FlavorResource, int]
    flavors: Mapping[str, str]
    placements: list[Placement]
    admitted_at: float
    borrowing: bool


@dataclass
class _Reservation:
    key: str
    queue: str
    since: float
    start_by: float  # when the gang is expected to fit; backfill must end before it


class Queueing:
    """Admission over one ClusterState, through one Scheduler."""

    def __init__(self, scheduler: Scheduler, config: QueueingConfig) -> None:
        self.scheduler = scheduler
        self.state = scheduler.state
        self.config = config
        self.tree = QuotaTree(config.cluster_queues, config.cohorts)
        self.queues = {q.name: q for q in config.cluster_queues}
        self.local = {(lq.namespace, lq.name): lq.cluster_queue for lq in config.local_queues}
        self.flavors = {f.name: f for f in config.flavors}
        self.ns_quota: dict[str, dict[str, int]] = {}
        for rq in config.resource_quotas:
            self.ns_quota.setdefault(rq.namespace, {}).update(rq.hard)
        self.ns_usage: dict[str, dict[str, int]] = {}
        self._heaps: dict[str, list[tuple[int, float, int, str]]] = {q: [] for q in self.queues}
        self._pending: dict[str, tuple[Workload, str]] = {}
        self._seq = itertools.count()
        self.active: dict[str, _Active] = {}
        self.reservation: _Reservation | None = None
        self.reasons: dict[str, str] = {}  # why a pending workload is waiting
        self.preemptions = 0
        self.gang_timeouts = 0

    # -- queues ----------------------------------------------------------------------------

    def queue_of(self, workload: Workload) -> str | None:
        return self.local.get((workload.namespace, workload.queue))

    def submit(self, workload: Workload, now: float) -> str | None:
        """Queue a workload; returns None, or why it can never be queued (unknown queue)."""
        queue = self.queue_of(workload)
        if queue is None:
            return f"LocalQueue {workload.namespace}/{workload.queue} does not exist"
        cq = self.queues[queue]
        if cq.namespace_selector is not None and not _namespace_ok(cq, workload):
            return f"namespace {workload.namespace} is not allowed in ClusterQueue {queue}"
        self._push(workload, queue)
        return None

    def _push(self, workload: Workload, queue: str) -> None:
        entry = (-workload.priority, workload.created, next(self._seq), workload.key)
        heapq.heappush(self._heaps[queue], entry)
        self._pending[workload.key] = (workload, queue)

    @property
    def pending(self) -> int:
        return len(self._pending)

    def pending_in(self, queue: str) -> int:
        return sum(1 for _, q in self._pending.values() if q == queue)

    def _heads(self, queue: str) -> list[Workload]:
        """Up to scan_limit pending workloads of a queue in order (StrictFIFO: just the head)."""
        heap = self._heaps[queue]
        while heap and heap[0][3] not in self._pending:
            heapq.heappop(heap)  # entries of workloads admitted or withdrawn since
        if not heap:
            return []
        limit = (
            1
            if self.queues[queue].queueing_strategy is QueueingStrategy.STRICT_FIFO
            else self.config.scan_limit
        )
        out = []
        for entry in heapq.nsmallest(limit * 2, heap):
            found = self._pending.get(entry[3])
            if found is not None:
                out.append(found[0])
            if len(out) == limit:
                break
        return out

    # -- the admission cycle ---------------------------------------------------------------

    def cycle(self, now: float, expected_end: ExpectedEnd | None = None) -> CycleResult:
        """Try to admit pending workloads; returns what was admitted and who was evicted."""
        result = CycleResult()
        if not self.config.placement_aware:
            self._place_admitted(now, result)
        self._expire_reservation(now, result)
        candidates = [(q, w) for q in self.queues for w in self._heads(q)]
        candidates.sort(key=lambda qw: self._order(qw[0], qw[1]))
        blocked: set[str] = set()  # StrictFIFO queues whose head failed this cycle
        for queue, workload in candidates:
            if queue in blocked or workload.key not in self._pending:
                continue
            outcome = self._try(workload, queue, now, expected_end, result)
            if outcome is None:
                continue
            self.reasons[workload.key] = outcome
            if self.queues[queue].queueing_strategy is QueueingStrategy.STRICT_FIFO:
                blocked.add(queue)
        return result

    def _order(self, queue: str, w: Workload) -> tuple[float, int, float]:
        # Fair sharing: the queue with the lowest share after admission goes first.
        share = 0.0
        if self.config.fair_sharing:
            choice = assign_flavors(self.queues[queue], w.requests(), self.tree)
            if isinstance(choice, FlavorChoice):
                share = self.tree.share(self.tree.nodes[queue], choice.amounts(w.requests()))
        return (share, -w.priority, w.created)

    def _try(
        self,
        w: Workload,
        queue: str,
        now: float,
        expected_end: ExpectedEnd | None,
        result: CycleResult,
    ) -> str | None:
        """Admit `w` if possible (preempting if allowed); None on success, else the reason."""
        requests = w.requests()
        ns_reason = self._namespace_quota(w, requests)
        if ns_reason:
            return ns_reason
        choice = assign_flavors(self.queues[queue], requests, self.tree)
        if isinstance(choice, str):
            return choice
        amounts = choice.amounts(requests)
        if self._reserved_elsewhere(w, now):
            return "waiting: a blocked gang holds a reservation and this would not finish before it"
        if choice.fits and self.tree.fits(queue, amounts):
            if not self.config.placement_aware:
                self._admit(w, queue, choice, amounts, [], now, result)
                return None
            placements = self._place_all(w, choice)
            if placements is not None:
                self._admit(w, queue, choice, amounts, placements, now, result)
                return None
            victims = self._find_victims(w, queue, amounts, choice, now, need_quota=False)
            if victims is None:
                self._reserve(w, queue, now, expected_end)
                return "the cluster cannot place all its pods now (quota is available)"
        else:
            victims = self._find_victims(w, queue, amounts, choice, now, need_quota=True)
            if victims is None:
                return "insufficient quota"
        for victim in victims:
            result.evicted.append(self._evict(victim, now, "Preempted", by=w.key))
            self.preemptions += 1
        placements = self._place_all(w, choice) if self.config.placement_aware else []
        if placements is None:  # cannot happen: victims were chosen so that it fits
            raise RuntimeError(f"{w.key} did not fit after preempting {victims}")
        self._admit(w, queue, choice, amounts, placements, now, result)
        return None

    def _namespace_quota(self, w: Workload, requests: Mapping[str, int]) -> str | None:
        hard = self.ns_quota.get(w.namespace)
        if not hard:
            return None
        used = self.ns_usage.get(w.namespace, {})
        for key, limit in hard.items():
            amount, have = _quota_key_amount(key, requests, w), _quota_key_amount(key, used, None)
            if amount and have + amount > limit:
                return (
                    f"exceeds ResourceQuota of namespace {w.namespace}: "
                    f"{key} {have + amount} > {limit}"
                )
        return None

    def _place_all(self, w: Workload, choice: FlavorChoice) -> list[Placement] | None:
        """Place every pod of `w` or none of them."""
        placed: list[Placement] = []
        for pod in w.pods():
            decision = self.scheduler.place(with_flavor(pod, self.flavors, choice.flavors))
            if not isinstance(decision, Placement):
                for p in placed:
                    self.state.release(p.pod.key)
                return None
            placed.append(decision)
        return placed

    def _admit(
        self,
        w: Workload,
        queue: str,
        choice: FlavorChoice,
        amounts: dict[FlavorResource, int],
        placements: list[Placement],
        now: float,
        result: CycleResult,
    ) -> None:
        del self._pending[w.key]
        self.reasons.pop(w.key, None)
        node = self.tree.nodes[queue]
        borrowing = any(
            node.usage.get(fr, 0) + a > node.subtree.get(fr, 0) for fr, a in amounts.items()
        )
        self.tree.add(queue, amounts)
        usage = self.ns_usage.setdefault(w.namespace, {})
        for r, a in w.requests().items():
            usage[r] = usage.get(r, 0) + a
        usage["pods"] = usage.get("pods", 0) + w.pod_count
        self.active[w.key] = _Active(w, queue, amounts, choice.flavors, placements, now, borrowing)
        if self.reservation is not None and self.reservation.key == w.key:
            self.reservation = None
        result.admitted.append(
            Admission(w, queue, choice.flavors, tuple(placements), borrowing, now)
        )

    # -- finishing and evicting ------------------------------------------------------------

    def finish(self, key: str, now: float) -> None:
        """A workload completed: release its pods and its quota."""
        self._release(key)

    def evict(self, key: str, now: float, reason: str, requeue: bool = True) -> Eviction:
        """Stop a running workload (node failure, ...), optionally queueing it again."""
        eviction = self._evict(key, now, reason, requeue=requeue)
        return eviction

    def _evict(
        self, key: str, now: float, reason: str, by: str | None = None, requeue: bool = True
    ) -> Eviction:
        active = self._release(key)
        lost = Running(active.workload, active.queue, active.admitted_at).lost_work(now)
        if requeue:
            self._push(active.workload, active.queue)
        return Eviction(active.workload, active.queue, reason, now, lost, by)

    def _release(self, key: str) -> _Active:
        active = self.active.pop(key)
        for p in active.placements:
            self.state.release(p.pod.key)
        self.tree.add(active.queue, active.amounts, sign=-1)
        usage = self.ns_usage[active.workload.namespace]
        for r, a in active.workload.requests().items():
            usage[r] -= a
        usage["pods"] -= active.workload.pod_count
        return active

    def _place_admitted(self, now: float, result: CycleResult) -> None:
        """Quota-only mode: try to place admitted workloads whose pods are not placed yet."""
        for active in self.active.values():
            if active.placements:
                continue
            placements = self._place_all(active.workload, FlavorChoice(active.flavors, True))
            if placements is not None:
                active.placements = placements
                result.placed_late.append(
                    Admission(
                        active.workload,
                        active.queue,
                        active.flavors,
                        tuple(placements),
                        active.borrowing,
                        now,
                    )
                )

    def unplaced(self) -> list[str]:
        """Admitted workloads whose pods are not running (only in quota-only mode)."""
        return [k for k, a in self.active.items() if not a.placements and a.workload.pod_count]

    # -- preemption ------------------------------------------------------------------------

    def _candidates(
        self, w: Workload, queue: str, amounts: Mapping[FlavorResource, int]
    ) -> list[Running]:
        cq = self.queues[queue]
        node = self.tree.nodes[queue]
        policy = cq.preemption
        after = {fr: node.usage.get(fr, 0) + a for fr, a in amounts.items()}
        within_nominal = all(after[fr] <= node.subtree.get(fr, 0) for fr in after)
        share_after = self.tree.share(node, amounts) if self.config.fair_sharing else 0.0
        cohort_root = _root(node)
        out = []
        for active in self.active.values():
            running = Running(active.workload, active.queue, active.admitted_at)
            if active.queue == queue:
                if within_queue_allows(policy.within_cluster_queue, w, running):
                    out.append(running)
                continue
            other = self.tree.nodes[active.queue]
            if node.parent is None or _root(other) is not cohort_root:
                continue
            borrowing = any(self.tree.borrowed(other, fr) > 0 for fr in other.usage)
            if not borrowing:
                continue
            reclaims = within_nominal and reclaim_allows(policy.reclaim_within_cohort, w, running)
            borrows = not within_nominal and borrow_allows(
                policy.borrow_within_cohort, policy.borrow_max_priority_threshold, w, running
            )
            fairer = self.config.fair_sharing and self.tree.share(other) > share_after
            if reclaims or borrows or fairer:
                out.append(running)
        return out

    def _find_victims(
        self,
        w: Workload,
        queue: str,
        amounts: Mapping[FlavorResource, int],
        choice: FlavorChoice,
        now: float,
        need_quota: bool,
    ) -> list[str] | None:
        """The cheapest set of whole workloads whose eviction lets `w` in, or None."""
        candidates = sorted(self._candidates(w, queue, amounts), key=victim_order(now))
        if not candidates:
            return None
        chosen: list[Running] = []
        for victim in candidates:
            chosen.append(victim)
            if self._fits_without(w, queue, amounts, choice, chosen):
                break
        else:
            return None
        # Spare any victim the preemptor does not need after all (most expensive first).
        for victim in sorted(chosen, key=victim_order(now), reverse=True):
            trial = [v for v in chosen if v is not victim]
            if self._fits_without(w, queue, amounts, choice, trial):
                chosen = trial
        return [v.workload.key for v in chosen]

    def _fits_without(
        self,
        w: Workload,
        queue: str,
        amounts: Mapping[FlavorResource, int],
        choice: FlavorChoice,
        victims: list[Running],
    ) -> bool:
        """Would `w` fit (quota, and placement when placement-aware) if `victims` were gone?"""
        removed = [self.active[v.workload.key] for v in victims]
        for a in removed:
            self.tree.add(a.queue, a.amounts, sign=-1)
        try:
            if not self.tree.fits(queue, amounts):
                return False
            if not self.config.placement_aware:
                return True
            bindings = [self.state.release(p.pod.key) for a in removed for p in a.placements]
            try:
                placed = self._place_all(w, choice)
                if placed is None:
                    return False
                for p in placed:
                    self.state.release(p.pod.key)
                return True
            finally:
                for b in bindings:
                    self.state.reserve(b)
        finally:
            for a in removed:
                self.tree.add(a.queue, a.amounts)

    # -- reservations and backfill ---------------------------------------------------------

    def _reserve(
        self, w: Workload, queue: str, now: float, expected_end: ExpectedEnd | None
    ) -> None:
        if not self.config.backfill or w.pod_count < 2:
            return
        if self.reservation is not None and self.reservation.key != w.key:
            return  # one reservation at a time: the first blocked gang in admission order
        if self.reservation is None:
            start_by = self._shadow_time(w, now, expected_end)
            self.reservation = _Reservation(w.key, queue, now, start_by)

    def _shadow_time(self, w: Workload, now: float, expected_end: ExpectedEnd | None) -> float:
        """When `w` could start if running workloads end as expected (inf if never known)."""
        if expected_end is None:
            return float("inf")
        ends = sorted((end, key) for key in self.active if (end := expected_end(key)) is not None)
        released = []
        try:
            for end, key in ends:
                active = self.active[key]
                released += [self.state.release(p.pod.key) for p in active.placements]
                placed = self._place_all(w, FlavorChoice({}, True))
                if placed is not None:
                    for p in placed:
                        self.state.release(p.pod.key)
                    return end
            return float("inf")
        finally:
            for b in released:
                self.state.reserve(b)

    def _reserved_elsewhere(self, w: Workload, now: float) -> bool:
        r = self.reservation
        if r is None or r.key == w.key or r.key not in self._pending:
            return False
        # Backfill: only what is known to end before the gang's start can go ahead of it.
        return w.duration is None or now + w.duration > r.start_by

    def _expire_reservation(self, now: float, result: CycleResult) -> None:
        r = self.reservation
        if r is None:
            return
        if r.key not in self._pending:
            self.reservation = None
            return
        timeout = self.config.gang_timeout
        if timeout is not None and now - r.since >= timeout:
            workload, queue = self._pending.pop(r.key)
            # Back of the queue: as if it arrived now (Kueue requeues with a new timestamp).
            self._push(replace(workload, created=now), queue)
            self.reservation = None
            self.gang_timeouts += 1
            result.timed_out.append(r.key)

    # -- reporting -------------------------------------------------------------------------

    def usage(self, queue: str) -> dict[FlavorResource, int]:
        return dict(self.tree.nodes[queue].usage)

    def borrowed_gpu_milli(self, queue: str) -> int:
        node = self.tree.nodes[queue]
        return sum(self.tree.borrowed(node, fr) for fr in node.usage if fr[1] == GPU)


def _root(node: QuotaNode) -> QuotaNode:
    while node.parent is not None:
        node = node.parent
    return node


def _namespace_ok(cq: ClusterQueue, w: Workload) -> bool:
    # gpuplane has no Namespace objects; a selector on kubernetes.io/metadata.name still works.
    selector = cq.namespace_selector or {}
    name = selector.get("kubernetes.io/metadata.name")
    return name is None or name == w.namespace


def _quota_key_amount(key: str, amounts: Mapping[str, int], w: Workload | None) -> int:
    """A ResourceQuota key's amount in the quota's units (GPUs whole, CPU milli, memory MiB)."""
    if key == "pods":
        return w.pod_count if w is not None else amounts.get("pods", 0)
    resource = key.removeprefix("requests.").removeprefix("limits.")
    amount = amounts.get(resource, 0)
    # ResourceQuota counts nvidia.com/gpu in GPUs; the brain in milli-GPU.
    return -(-amount // 1000) if resource == GPU else amount
