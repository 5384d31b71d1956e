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

Victims are whole workloads, so a gang is never broken in half. They are tried cheapest
first — lowest priority, then least work lost since their last checkpoint, then most recently
admitted — added one by one until the preemptor fits, then any victim not needed is spared.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from gpuplane.objects.queues import BorrowWithinCohort, ReclaimWithinCohort, WithinClusterQueue
from gpuplane.queueing.workload import Workload


@dataclass(frozen=True)
class Running:
    """An admitted workload as preemption sees it."""

    workload: Workload
    queue: str
    admitted_at: float

    def lost_work(self, now: float) -> float:
        """Seconds of work lost if stopped now: since the last checkpoint (or the start)."""
        ran = max(0.0, now - self.admitted_at)
        interval = self.workload.checkpoint_interval
        return ran % interval if interval else ran


def victim_order(now: float) -> Callable[[Running], tuple[int, float, float, str]]:
    """Sort key: cheapest victim first."""

    def key(r: Running) -> tuple[int, float, float, str]:
        # The workload key settles exact ties, so the choice never depends on set order.
        return (r.workload.priority, r.lost_work(now), -r.admitted_at, r.workload.key)

    return key


def within_queue_allows(policy: WithinClusterQueue, preemptor: Workload, victim: Running) -> bool:
    p, v = preemptor.priority, victim.workload.priority
    if policy is WithinClusterQueue.LOWER_PRIORITY:
        return v < p
    if policy is WithinClusterQueue.LOWER_OR_NEWER_EQUAL_PRIORITY:
        return v < p or (v == p and victim.workload.created > preemptor.created)
    return False


def reclaim_allows(policy: ReclaimWithinCohort, preemptor: Workload, victim: Running) -> bool:
    if policy is ReclaimWithinCohort.ANY:
        return True
    if policy is ReclaimWithinCohort.LOWER_PRIORITY:
        return victim.workload.priority < preemptor.priority
    return False


def borrow_allows(
    policy: BorrowWithinCohort, threshold: int | None, preemptor: Workload, victim: Running
) -> bool:
    if policy is not BorrowWithinCohort.LOWER_PRIORITY:
        return False
    v = victim.workload.priority
    return v < preemptor.priority and (threshold is None or v <= threshold)
