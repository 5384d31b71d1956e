"""Who may be preempted for whom, and the cheapest set of victims.

Candidates follow the preemptor's ClusterQueue policies, as in Kueue:

* withinClusterQueue: LowerPriority takes workloads of the same queue with lower priority;
  LowerOrNewerEqualPriority also those of equal priority admitted later.
* reclaimWithinCohort: while the preemptor's queue stays within its own quota after admission
  (it reclaims what it lent), workloads of other queues of the cohort that borrow: Any of
  them, or with LowerPriority only lower-priority ones.
* borrowWithinCohort LowerPriority: while the preemptor's queue borrows, lower-priority
  workloads of other queues of the cohort (at or below maxPriorityThreshold when set).
* fair sharing (when on): workloads of queues whose share stays above the preemptor queue's
  share after admission.

Victims are whole workloads, so a gang is never broken in half. They are tried in Kueue's
candidate order — workloads of other queues of the cohort (which borrow) before the
preemptor's own queue's, then lowest priority, then least work lost since their last
checkpoint, then most recently admitted — added one by one until the preemptor fits, then any
victim not needed is spared.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

from gpuplane.objects.queues import (
    BorrowWithinCohort,
    ClusterQueue,
    Preemption,
    ReclaimWithinCohort,
    WithinClusterQueue,
)
from gpuplane.queueing.flavors import FlavorChoice, Mode
from gpuplane.queueing.gangs import GangPlacer, Moment, workload_shape
from gpuplane.queueing.quota import FlavorResource
from gpuplane.queueing.running import Running
from gpuplane.queueing.usage import AdmittedUsage
from gpuplane.queueing.workload import Workload


def victim_order(
    now: float, queue: str = ""
) -> Callable[[Running], tuple[bool, int, float, float, str]]:
    """Sort key: first choice first (other queues than `queue`, then the cheapest)."""

    def key(r: Running) -> tuple[bool, int, float, float, str]:
        # The workload key settles exact ties, so the choice never depends on set order.
        own = r.queue == queue
        return (own, r.workload.priority, r.lost_work(now), -r.admitted_at, r.workload.key)

    return key


class VictimSearch:
    """Finds the cheapest set of whole admitted workloads whose eviction lets one in.

    Every candidate set is tried as a what-if: quota taken back in the QuotaTree and, when
    admission is placement-aware, the victims' pods released and the preemptor's placed
    inside a cluster trial, all undone before the answer is returned.
    """

    def __init__(
        self,
        queues: Mapping[str, ClusterQueue],
        usage: AdmittedUsage,
        gangs: GangPlacer,
        members: Callable[[str], set[str]],
        *,
        fair_sharing: bool,
        placement_aware: bool,
    ) -> None:
        self.queues = queues
        self.usage = usage
        self.tree = usage.tree
        self.gangs = gangs
        self.members = members
        self.fair_sharing = fair_sharing
        self.placement_aware = placement_aware
        self._none_found: dict[tuple[object, ...], Moment] = {}
        self._others: dict[str, list[str]] = {}

    def find(
        self,
        w: Workload,
        queue: str,
        amounts: Mapping[FlavorResource, int],
        choice: FlavorChoice,
        now: float,
        need_quota: bool,
    ) -> list[str] | None:
        """The keys of the cheapest victims that let `w` in, or None."""
        if not self._may_preempt(queue):
            return None
        memo_key = (queue, w.priority, w.created, need_quota, workload_shape(w))
        if self._none_found.get(memo_key) == self.gangs.moment():
            return None  # nothing changed since the last search came back empty
        order = victim_order(now, queue)
        candidates = sorted(self._candidates(w, queue, amounts), key=order)
        # One trial with every candidate gone: when even that does not fit, no subset will,
        # and the one-by-one search (a placement trial per victim) is skipped.
        if not candidates or not self._fits_without(w, queue, amounts, choice, candidates):
            self._none_found[memo_key] = self.gangs.moment()
            return None
        chosen: list[Running] = []
        for victim in candidates:
            chosen.append(victim)
            if self._fits_without(w, queue, amounts, choice, chosen):
                break
        else:
            return None
        # Spare any victim the preemptor does not need after all (most expensive first).
        for victim in sorted(chosen, key=order, reverse=True):
            trial = [v for v in chosen if v is not victim]
            if self._fits_without(w, queue, amounts, choice, trial):
                chosen = trial
        return [v.workload.key for v in chosen]

    def possibility(self, w: Workload, queue: str, amounts: Mapping[FlavorResource, int]) -> Mode:
        """Whether preempting could make quota room for `amounts` (Kueue's preemption oracle).

        Quota only: RECLAIM when the victims needed are all in other queues, PREEMPT when
        some are in `queue` itself, NO_CANDIDATES when no allowed set of victims is enough.
        """
        if not self._may_preempt(queue):
            return Mode.NO_CANDIDATES
        chosen: list[Running] = []
        for victim in sorted(self._candidates(w, queue, amounts), key=victim_order(0.0, queue)):
            chosen.append(victim)
            if self._quota_fits_without(queue, amounts, chosen):
                own = any(v.queue == queue for v in chosen)
                return Mode.PREEMPT if own else Mode.RECLAIM
        return Mode.NO_CANDIDATES

    def _may_preempt(self, queue: str) -> bool:
        policy = self.queues[queue].preemption
        return (
            policy.within_cluster_queue is not WithinClusterQueue.NEVER
            or policy.reclaim_within_cohort is not ReclaimWithinCohort.NEVER
            or policy.borrow_within_cohort is not BorrowWithinCohort.NEVER
            or self.fair_sharing
        )

    def _quota_fits_without(
        self, queue: str, amounts: Mapping[FlavorResource, int], victims: list[Running]
    ) -> bool:
        removed = _by_queue(self.usage, victims)
        for q, held in removed:
            self.tree.add(q, held, sign=-1)
        try:
            return self.tree.fits(queue, amounts)
        finally:
            for q, held in removed:
                self.tree.add(q, held)

    def _candidates(
        self, w: Workload, queue: str, amounts: Mapping[FlavorResource, int]
    ) -> list[Running]:
        """Every running workload the policies let `w` preempt, in no particular order.

        Read from the priority index: only the priorities a policy allows are looked at.
        """
        node = self.tree.nodes[queue]
        policy = self.queues[queue].preemption
        running = self.usage.running
        out = self._within_queue(policy.within_cluster_queue, w, queue)
        cohort_wide = (
            policy.reclaim_within_cohort is not ReclaimWithinCohort.NEVER
            or policy.borrow_within_cohort is not BorrowWithinCohort.NEVER
            or self.fair_sharing
        )
        if node.parent is None or not cohort_wide:
            return out
        # As Kueue, the queue reclaims when it is within its quota once its own candidates
        # (already in `out`) are gone too.
        after = {fr: node.usage.get(fr, 0) + a for fr, a in amounts.items()}
        for own in out:
            for fr, a in self.usage.active[own.workload.key].amounts.items():
                if fr in after:
                    after[fr] -= a
        within_nominal = all(after[fr] <= node.subtree.get(fr, 0) for fr in after)
        bound = _cohort_bound(policy, w, within_nominal)
        share_after = self.tree.share(node, amounts) if self.fair_sharing else 0.0
        others = self._others.get(queue)
        if others is None:
            # Cohort trees are fixed once built: sorted once per queue.
            others = self._others[queue] = [q for q in sorted(self.members(queue)) if q != queue]
        for other_name in others:
            if not running.count(other_name):
                continue
            other = self.tree.nodes[other_name]
            # Queues within their own quota are never preempted by others (their guarantee):
            # one that borrows uses more of something than its subtree quota.
            quota = other.subtree
            if not any(used > quota.get(fr, 0) for fr, used in other.usage.items()):
                continue
            if not self.fair_sharing:
                if bound is not None:
                    out.extend(running.below(other_name, bound))
                continue
            for victim in running.all(other_name):
                if bound is not None and victim.workload.priority < bound:
                    out.append(victim)
                    continue
                held = self.usage.active[victim.workload.key].amounts
                # Kueue's LessThanOrEqualToFinalShare: the victim's queue must still hold at
                # least the preemptor's share once the victim is gone, or the two would take
                # the GPUs back and forth.
                if self.tree.share(other, {fr: -a for fr, a in held.items()}) >= share_after:
                    out.append(victim)
        return out

    def _within_queue(self, policy: WithinClusterQueue, w: Workload, queue: str) -> list[Running]:
        """The preemptor's own queue's workloads that `policy` lets it preempt."""
        if policy is WithinClusterQueue.NEVER:
            return []
        running = self.usage.running
        out = list(running.below(queue, w.priority))
        if policy is WithinClusterQueue.LOWER_OR_NEWER_EQUAL_PRIORITY:
            out.extend(r for r in running.at(queue, w.priority) if r.workload.created > w.created)
        return out

    def _fits_without(
        self,
        w: Workload,
        queue: str,
        amounts: Mapping[FlavorResource, int],
        choice: FlavorChoice,
        victims: list[Running],
    ) -> bool:
        """Would `w` fit (quota, and placement when placement-aware) if `victims` were gone?"""
        removed = _by_queue(self.usage, victims)
        for q, held in removed:
            self.tree.add(q, held, sign=-1)
        try:
            if not self.tree.fits(queue, amounts):
                return False
            if not self.placement_aware:
                return True
            with self.gangs.trial():
                for v in victims:
                    for p in self.usage.active[v.workload.key].placements:
                        self.gangs.state.release(p.pod.key)
                return self.gangs.place_all(w, choice) is not None
        finally:
            for q, held in removed:
                self.tree.add(q, held)


def _by_queue(
    usage: AdmittedUsage, victims: list[Running]
) -> list[tuple[str, dict[FlavorResource, int]]]:
    """The victims' quota usage summed per queue, in order of first appearance.

    One `QuotaTree.add` per queue leaves the tree exactly as one per victim would: a node's
    usage adds up, and what it passes to its parent (the change in its usage beyond its
    guaranteed part) telescopes to the same total; nothing reads the tree in between.
    """
    out: dict[str, dict[FlavorResource, int]] = {}
    for v in victims:
        active = usage.active[v.workload.key]
        total = out.setdefault(active.queue, {})
        for fr, amount in active.amounts.items():
            total[fr] = total.get(fr, 0) + amount
    return list(out.items())


def _cohort_bound(policy: Preemption, w: Workload, within_nominal: bool) -> float | None:
    """Workloads of borrowing cohort queues below this priority may be preempted (None: none).

    reclaimWithinCohort applies while the preemptor's queue stays within its quota,
    borrowWithinCohort while it borrows (up to maxPriorityThreshold).
    """
    if within_nominal:
        if policy.reclaim_within_cohort is ReclaimWithinCohort.ANY:
            return math.inf
        if policy.reclaim_within_cohort is ReclaimWithinCohort.LOWER_PRIORITY:
            return w.priority
        return None
    if policy.borrow_within_cohort is not BorrowWithinCohort.LOWER_PRIORITY:
        return None
    threshold = policy.borrow_max_priority_threshold
    return w.priority if threshold is None else min(w.priority, threshold + 1)
