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
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

import numpy as np

from gpuplane.cluster.journal import Trial
from gpuplane.cluster.state import BoolArray
from gpuplane.objects.gpu_request import GPU
from gpuplane.objects.pod import Pod
from gpuplane.objects.policy import ResourceQuota
from gpuplane.objects.queues import (
    BorrowWithinCohort,
    ClusterQueue,
    Cohort,
    LocalQueue,
    QueueingStrategy,
    ReclaimWithinCohort,
    ResourceFlavor,
    WithinClusterQueue,
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

CANNOT_PLACE = "the cluster cannot place all its pods now (quota is available)"
RESERVED = "waiting: a blocked gang holds a reservation and this would not finish before it"


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
    scan_limit: int = 32


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
    nodes: BoolArray  # where the gang could run: only work that can land there competes
    changes: tuple[int, int]  # the engine's moment when start_by was worked out


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
        # Which queues to look at in the next cycle. A queue whose heads could not be admitted
        # is not looked at again until something that could help it happens: a workload of
        # its cohort tree releases quota, or any workload releases cluster capacity.
        self._dirty: set[str] = set()
        self._waiting_capacity: set[str] = set()
        self._root_of = {name: _root(node).name for name, node in self.tree.nodes.items()}
        self._members: dict[str, set[str]] = {}
        for name, root in self._root_of.items():
            self._members.setdefault(root, set()).add(name)
        self._count: dict[str, int] = dict.fromkeys(self.queues, 0)
        self._unplaced: set[str] = set()
        self._unplaceable: dict[tuple[object, ...], tuple[int, int]] = {}
        self._unplaceable_first: dict[tuple[object, ...], tuple[int, int]] = {}
        self._eligible_cache: dict[tuple[object, ...], BoolArray] = {}
        self._no_victims: dict[tuple[object, ...], tuple[int, int]] = {}
        self._active_by_queue: dict[str, set[str]] = {q: set() for q in self.queues}
        self.preemptions = 0
        self.gang_timeouts = 0
        self._epoch = 0

    def _moment(self) -> tuple[int, int]:
        return (self.state.changes, self._epoch)

    @contextmanager
    def _trial(self) -> Iterator[Trial]:
        with self.state.trial() as trial:
            yield trial
        if trial.changed and not trial.kept:
            self._epoch += 1

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
        self._count[queue] += 1
        self._dirty.add(queue)

    def _take(self, key: str) -> tuple[Workload, str]:
        workload, queue = self._pending.pop(key)
        self._count[queue] -= 1
        return workload, queue

    def capacity_added(self) -> None:
        """Nodes or GPUs came back (recovery): every queue with pending work looks again."""
        self._dirty |= {q for q in self.queues if self._count[q]}

    def _wake(self, queue: str) -> None:
        """Capacity was released by a workload of `queue`: who might now get in."""
        root = self._root_of[queue]
        self._dirty |= {q for q in self._members[root] if self._count[q]}
        self._dirty |= {q for q in self._waiting_capacity if self._count[q]}
        self._waiting_capacity.clear()

    @property
    def pending(self) -> int:
        return len(self._pending)

    def pending_in(self, queue: str) -> int:
        return self._count[queue]

    def _peek(self, queue: str) -> Workload | None:
        """The queue's first pending workload, in O(1) once stale entries are dropped."""
        heap = self._heaps[queue]
        while heap:
            found = self._pending.get(heap[0][3])
            if found is not None and found[1] == queue:
                return found[0]
            heapq.heappop(heap)
        return None

    def _heads(self, queue: str) -> list[Workload]:
        """Up to scan_limit pending workloads of a queue in order (StrictFIFO: just the head).

        Costs O(scan_limit log n): entries are popped and pushed back, never scanned.
        """
        heap = self._heaps[queue]
        strict = self.queues[queue].queueing_strategy is QueueingStrategy.STRICT_FIFO
        limit = 1 if strict else self.config.scan_limit
        out: list[Workload] = []
        kept: list[tuple[int, float, int, str]] = []
        seen: set[str] = set()
        while heap and len(out) < limit:
            entry = heapq.heappop(heap)
            found = self._pending.get(entry[3])
            if found is None or found[1] != queue:
                continue  # admitted or moved since: drop the stale entry
            if entry[3] in seen:
                continue  # a duplicate left by a requeue
            seen.add(entry[3])
            kept.append(entry)
            out.append(found[0])
        for entry in kept:
            heapq.heappush(heap, entry)
        return out

    # -- the admission cycle ---------------------------------------------------------------

    def cycle(self, now: float, expected_end: ExpectedEnd | None = None) -> CycleResult:
        """Try to admit pending workloads; returns what was admitted and who was evicted.

        Only queues that something happened to since they last failed are looked at, each
        through its first `scan_limit` workloads, so a cycle costs the same whatever the
        backlog. Queues compete head against head (fair share, then priority, then age).
        """
        result = CycleResult()
        if not self.config.placement_aware:
            self._place_admitted(now, result)
        self._expire_reservation(now, result)
        for _ in range(3):  # evictions in one pass wake queues for the next
            if not self._dirty:
                break
            self._pass(now, expected_end, result)
        return result

    def _pass(self, now: float, expected_end: ExpectedEnd | None, result: CycleResult) -> None:
        work: list[tuple[tuple[float, int, float], int, str]] = []
        for queue in sorted(self._dirty):
            head = self._peek(queue)
            if head is not None:
                heapq.heappush(work, (self._order(queue, head), next(self._seq), queue))
        self._dirty = set()
        # The gang holding the reservation is tried first, wherever it stands in its queue:
        # everything it blocks waits for it, so it must never be out of sight.
        r = self.reservation
        if r is not None and r.key in self._pending:
            outcome = self._try(self._pending[r.key][0], r.queue, now, expected_end, result)
            if outcome is not None:
                self.reasons[r.key] = outcome
        # A pass ends after this many attempts in a row admit nothing: the queues not reached
        # wait for the next change, like the ones that failed. It bounds a pass whatever the
        # number of queues or the backlog; queues are reached best first (share, priority, age).
        budget = 4 * self.config.scan_limit
        misses = 0
        unplaceable: dict[tuple[object, ...], tuple[int, int]] = {}
        while work:
            _, _, queue = heapq.heappop(work)
            if misses >= budget:
                self._waiting_capacity.add(queue)
                continue
            admitted = False
            needs_room = False
            for workload in self._heads(queue):
                shape = _workload_shape(workload)
                if unplaceable.get(shape) == self._moment():
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
                if outcome == CANNOT_PLACE:
                    unplaceable[shape] = self._moment()
                misses += 1
                needs_room = needs_room or outcome in (CANNOT_PLACE, RESERVED)
                if self.queues[queue].queueing_strategy is QueueingStrategy.STRICT_FIFO:
                    break
            if admitted:
                misses = 0
                head = self._peek(queue)
                if head is not None:
                    heapq.heappush(work, (self._order(queue, head), next(self._seq), queue))
            elif needs_room:
                # Blocked by the cluster, not by quota: room freed anywhere may help. (Quota
                # released in its own cohort tree wakes every queue of the tree anyway.)
                self._waiting_capacity.add(queue)

    def _order(self, queue: str, w: Workload) -> tuple[float, int, float]:
        # Fair sharing: the queue with the lowest share after admission goes first.
        share = 0.0
        if self.config.fair_sharing:
            choice = self._flavors(w, queue, w.requests())
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
        choice = self._flavors(w, queue, requests)
        if isinstance(choice, str):
            return choice
        amounts = choice.amounts(requests)
        if self._reserved_elsewhere(w, now):
            return RESERVED
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
                return CANNOT_PLACE
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

    def _flavors(self, w: Workload, queue: str, requests: Mapping[str, int]) -> FlavorChoice | str:
        selectors = [ps.template.node_selector for ps in w.pod_sets]
        return assign_flavors(self.queues[queue], requests, self.tree, self.flavors, selectors)

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
        """Place every pod of `w` or none of them.

        A pod shape that found no node is remembered with the state's change counter: until
        something changes, the same shape is refused at once instead of filtering again
        (with a deep backlog most attempts are such repeats).
        """
        placed: list[Placement] = []
        changes = self._moment()
        # The first pod's shape, checked before any pod object is built (the common case).
        first = (pod_shape(w.pod_sets[0].template), tuple(sorted(choice.flavors.items())))
        if w.pod_sets and self._unplaceable_first.get(first) == changes:
            return None
        # A trial, kept only when every pod found a node: a gang refused half way leaves no
        # trace, not even a GPU its first pods reshaped (dynamic MIG).
        with self._trial() as trial:
            for pod in w.pods():
                pod = with_flavor(pod, self.flavors, choice.flavors)
                shape = pod_shape(pod)
                if self._unplaceable.get(shape) == changes and not placed:
                    return None
                decision = self.scheduler.place(pod)
                if not isinstance(decision, Placement):
                    if not placed:
                        self._unplaceable[shape] = changes
                        self._unplaceable_first[first] = changes
                    return None
                placed.append(decision)
            trial.keep()
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
        self._take(w.key)
        if not placements and w.pod_count:
            self._unplaced.add(w.key)
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
        self._active_by_queue[queue].add(w.key)
        if self.reservation is not None and self.reservation.key == w.key:
            self._clear_reservation()
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
        self._active_by_queue[active.queue].discard(key)
        self._unplaced.discard(key)
        self._wake(active.queue)
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
        for key in sorted(self._unplaced, key=lambda k: (self.active[k].admitted_at, k)):
            active = self.active[key]
            placements = self._place_all(active.workload, FlavorChoice(active.flavors, True))
            if placements is not None:
                active.placements = placements
                self._unplaced.discard(key)
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
        return sorted(self._unplaced)

    # -- preemption ------------------------------------------------------------------------

    def _candidates(
        self, w: Workload, queue: str, amounts: Mapping[FlavorResource, int]
    ) -> list[Running]:
        cq = self.queues[queue]
        node = self.tree.nodes[queue]
        policy = cq.preemption
        out: list[Running] = []
        if policy.within_cluster_queue is not WithinClusterQueue.NEVER:
            for key in sorted(self._active_by_queue.get(queue, ())):
                active = self.active[key]
                running = Running(active.workload, active.queue, active.admitted_at)
                if within_queue_allows(policy.within_cluster_queue, w, running):
                    out.append(running)
        cohort_wide = (
            policy.reclaim_within_cohort is not ReclaimWithinCohort.NEVER
            or policy.borrow_within_cohort is not BorrowWithinCohort.NEVER
            or self.config.fair_sharing
        )
        if node.parent is None or not cohort_wide:
            return out
        after = {fr: node.usage.get(fr, 0) + a for fr, a in amounts.items()}
        within_nominal = all(after[fr] <= node.subtree.get(fr, 0) for fr in after)
        share_after = self.tree.share(node, amounts) if self.config.fair_sharing else 0.0
        for other_name in sorted(self._members[self._root_of[queue]]):
            if other_name == queue or not self._active_by_queue.get(other_name):
                continue
            other = self.tree.nodes[other_name]
            # Queues within their own quota are never preempted by others (their guarantee).
            if not any(self.tree.borrowed(other, fr) > 0 for fr in other.usage):
                continue
            for key in sorted(self._active_by_queue[other_name]):
                active = self.active[key]
                running = Running(active.workload, active.queue, active.admitted_at)
                # Kueue's LessThanOrEqualToFinalShare: the victim's queue must still hold at
                # least the preemptor's share once the victim is gone, or the two would take
                # the GPUs back and forth.
                fairer = self.config.fair_sharing and (
                    self.tree.share(other, {fr: -a for fr, a in active.amounts.items()})
                    >= share_after
                )
                reclaims = within_nominal and reclaim_allows(
                    policy.reclaim_within_cohort, w, running
                )
                borrows = not within_nominal and borrow_allows(
                    policy.borrow_within_cohort, policy.borrow_max_priority_threshold, w, running
                )
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
        policy = self.queues[queue].preemption
        if (
            policy.within_cluster_queue is WithinClusterQueue.NEVER
            and policy.reclaim_within_cohort is ReclaimWithinCohort.NEVER
            and policy.borrow_within_cohort is BorrowWithinCohort.NEVER
            and not self.config.fair_sharing
        ):
            return None
        memo_key = (queue, w.priority, w.created, need_quota, _workload_shape(w))
        if self._no_victims.get(memo_key) == self._moment():
            return None  # nothing changed since the last search came back empty
        candidates = sorted(self._candidates(w, queue, amounts), key=victim_order(now))
        # One trial with every candidate gone: when even that does not fit, no subset will,
        # and the one-by-one search (a placement trial per victim) is skipped.
        if not candidates or not self._fits_without(w, queue, amounts, choice, candidates):
            self._no_victims[memo_key] = self._moment()
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
            with self._trial():
                for a in removed:
                    for p in a.placements:
                        self.state.release(p.pod.key)
                return self._place_all(w, choice) is not None
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
        r = self.reservation
        if r is None or r.changes != self._moment():
            # The cluster changed since (a node failed, work ended early): work it out again.
            start_by = self._shadow_time(w, now, expected_end)
            since = now if r is None else r.since
            self.reservation = _Reservation(
                w.key, queue, since, start_by, self._eligible(w), self._moment()
            )

    def _eligible(self, w: Workload) -> BoolArray:
        """Nodes any pod of `w` could ever use (taints, selectors, affinity), cached per shape."""
        nodes = np.zeros(len(self.state), dtype=np.bool_)
        for ps in w.pod_sets:
            key = (pod_shape(ps.template), self.state.generation)
            mask = self._eligible_cache.get(key)
            if mask is None:
                mask = self.scheduler.eligible(ps.template)
                self._eligible_cache[key] = mask
            nodes |= mask
        return nodes

    def _shadow_time(self, w: Workload, now: float, expected_end: ExpectedEnd | None) -> float:
        """When `w` could start if running workloads end as expected (inf if never known)."""
        if expected_end is None:
            return float("inf")
        ends = sorted((end, key) for key in self.active if (end := expected_end(key)) is not None)
        with self._trial():
            for end, key in ends:
                for p in self.active[key].placements:
                    self.state.release(p.pod.key)
                if self._place_all(w, FlavorChoice({}, True)) is not None:
                    return end
            return float("inf")

    def _clear_reservation(self) -> None:
        # Whoever waited behind the reservation may go now.
        self.reservation = None
        self._dirty |= {q for q in self.queues if self._count[q]}

    def _reserved_elsewhere(self, w: Workload, now: float) -> bool:
        r = self.reservation
        if r is None or r.key == w.key or r.key not in self._pending:
            return False
        # Work that cannot run where the gang runs cannot delay it.
        if not (self._eligible(w) & r.nodes).any():
            return False
        # Backfill: only what is known to end before the gang's start can go ahead of it.
        return w.duration is None or now + w.duration > r.start_by

    def _expire_reservation(self, now: float, result: CycleResult) -> None:
        r = self.reservation
        if r is None:
            return
        if r.key not in self._pending:
            self._clear_reservation()
            return
        timeout = self.config.gang_timeout
        if timeout is not None and now - r.since >= timeout:
            workload, queue = self._take(r.key)
            # Back of the queue: as if it arrived now (Kueue requeues with a new timestamp).
            self._push(replace(workload, created=now), queue)
            self._clear_reservation()
            self.gang_timeouts += 1
            result.timed_out.append(r.key)

    # -- reporting -------------------------------------------------------------------------

    def usage(self, queue: str) -> dict[FlavorResource, int]:
        return dict(self.tree.nodes[queue].usage)

    def borrowed_gpu_milli(self, queue: str) -> int:
        node = self.tree.nodes[queue]
        return sum(self.tree.borrowed(node, fr) for fr in node.usage if fr[1] == GPU)


def pod_shape(pod: Pod) -> tuple[object, ...]:
    """What decides where a pod can go; two pods of one shape fit or fail alike."""
    return (
        pod.cpu_milli,
        pod.memory_mib,
        pod.gpu,
        tuple(sorted(pod.extended.items())),
        tuple(sorted(pod.node_selector.items())),
        pod.affinity.required,
        pod.tolerations,
        pod.node_name,
    )


def _workload_shape(w: Workload) -> tuple[object, ...]:
    return tuple((pod_shape(ps.template), ps.count) for ps in w.pod_sets)


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
