"""Kueue's preemption tables, ported: candidate ordering and who is preempted for whom.

Upstream: kubernetes-sigs/kueue, pkg/scheduler/preemption/preemption_test.go
(TestCandidatesOrdering, TestPreemption) and pkg/scheduler/scheduler_test.go (the classical
entry order: workloads within nominal quota before borrowing ones) at commit
ff69552e79ad21652c36caa97038382e55625cf7. Quotas are GPUs where upstream uses cpu.
"""

from __future__ import annotations

import pytest

from gpuplane.objects.queues import (
    Preemption,
    ReclaimWithinCohort,
    WithinClusterQueue,
)
from gpuplane.queueing import PodSet, Workload
from gpuplane.queueing.preemption import Running, victim_order

from helpers import pod, whole
from queueing_helpers import admitted, cq, engine, evicted, job


def _running(name: str, queue: str, priority: int = 0, at: float = 0.0) -> Running:
    w = Workload(f"ns/{name}", "ns", queue, (PodSet("main", pod("t", whole(1))),), priority)
    return Running(w, queue, at)


ORDERING = [
    ("workloads sorted by priority",
     [_running("high", "preemptor", 10), _running("low", "preemptor", -10)], ["low", "high"]),
    ("workload from different CQ first",
     [_running("preemptorCq", "preemptor", 10), _running("other", "other", 10)],
     ["other", "preemptorCq"]),
    ("old workloads last",
     [_running("older", "preemptor", at=99.0), _running("younger", "preemptor", at=101.0),
      _running("current", "preemptor", at=100.0)],
     ["younger", "current", "older"]),
    ("workloads from different CQ are sorted based on priority and timestamp",
     [_running("preemptor_high", "preemptor", 10), _running("other_low_new", "other", 1, 101.0),
      _running("other_high", "other", 10), _running("other_low_old", "other", 1, 99.0)],
     ["other_low_new", "other_low_old", "other_high", "preemptor_high"]),
]


@pytest.mark.parametrize(("name", "candidates", "want"), ORDERING, ids=[o[0] for o in ORDERING])
def test_candidates_ordering(name: str, candidates: list[Running], want: list[str]) -> None:
    got = sorted(candidates, key=victim_order(102.0, "preemptor"))
    assert [r.workload.key.removeprefix("ns/") for r in got] == want


LOWER = Preemption(within_cluster_queue=WithinClusterQueue.LOWER_PRIORITY)
RECLAIM_ANY = Preemption(reclaim_within_cohort=ReclaimWithinCohort.ANY)


def test_preempt_lowest_priority() -> None:
    e = engine([cq("standalone", 2, preemption=LOWER)], nodes=1, gpus_per_node=8)
    for name, priority in (("low", -1), ("mid", 0)):
        e.submit(job(name, "standalone", priority=priority), 0.0)
    e.cycle(0.0)
    e.submit(job("in", "standalone", priority=1), 1.0)
    assert evicted(e.cycle(1.0)) == ["low"]


def test_no_preemption_for_low_priority() -> None:
    e = engine([cq("standalone", 2, preemption=LOWER)], nodes=1, gpus_per_node=8)
    for name in ("a", "b"):
        e.submit(job(name, "standalone", priority=0), 0.0)
    e.cycle(0.0)
    e.submit(job("in", "standalone", priority=-1), 1.0)
    assert evicted(e.cycle(1.0)) == []


def test_cant_preempt_workloads_in_cluster_queue_for_within_cluster_queue_never() -> None:
    e = engine([cq("standalone", 2)], nodes=1, gpus_per_node=8)
    e.submit(job("low", "standalone", gpus_per_pod=2, priority=-1), 0.0)
    e.cycle(0.0)
    e.submit(job("in", "standalone", priority=1), 1.0)
    assert evicted(e.cycle(1.0)) == []


def test_reclaim_quota_from_borrower() -> None:
    # c1 reclaims its nominal quota from c2, which borrowed it; c1's own lower-priority
    # workload is not touched (other queues' candidates come first).
    e = engine(
        [cq("c1", 4, cohort="cohort", preemption=Preemption(
            within_cluster_queue=WithinClusterQueue.LOWER_PRIORITY,
            reclaim_within_cohort=ReclaimWithinCohort.ANY)),
         cq("c2", 4, cohort="cohort", preemption=RECLAIM_ANY)],
        nodes=1, gpus_per_node=8,
    )
    e.submit(job("c1-low", "c1", gpus_per_pod=2, priority=-1), 0.0)
    e.submit(job("c2-mid", "c2", gpus_per_pod=4, priority=0), 0.0)
    e.submit(job("c2-borrow", "c2", gpus_per_pod=2, priority=0, created=1.0), 0.0)
    assert sorted(admitted(e.cycle(0.0))) == ["c1-low", "c2-borrow", "c2-mid"]
    e.submit(job("in", "c1", gpus_per_pod=2, priority=1), 1.0)
    result = e.cycle(1.0)
    assert evicted(result) == ["c2-borrow"]
    assert admitted(result) == ["in"]


def test_no_workloads_borrowing() -> None:
    e = engine([cq("c1", 4, cohort="cohort", preemption=RECLAIM_ANY),
                cq("c2", 4, cohort="cohort", preemption=RECLAIM_ANY)], nodes=1, gpus_per_node=8)
    e.submit(job("c1-a", "c1", gpus_per_pod=4, priority=-1), 0.0)
    e.submit(job("c2-a", "c2", gpus_per_pod=4, priority=-1), 0.0)
    e.cycle(0.0)
    e.submit(job("in", "c1", gpus_per_pod=2, priority=1), 1.0)
    assert evicted(e.cycle(1.0)) == []


def test_workloads_within_nominal_quota_go_before_borrowing_ones() -> None:
    # scheduler_test: in one cycle, the entry that fits its ClusterQueue's nominal quota is
    # admitted before an older, higher-priority one that would have to borrow.
    e = engine([cq("a", 2, cohort="cohort"), cq("b", 4, cohort="cohort")],
               nodes=1, gpus_per_node=6)
    e.submit(job("a-borrows", "a", gpus_per_pod=4, priority=10, created=0.0), 0.0)
    e.submit(job("b-nominal", "b", gpus_per_pod=4, priority=0, created=1.0), 0.0)
    assert admitted(e.cycle(0.0)) == ["b-nominal"]
