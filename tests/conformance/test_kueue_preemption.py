"""Kueue's preemption tables, ported: candidate ordering and who is preempted for whom.

Upstream: kubernetes-sigs/kueue, pkg/scheduler/preemption/preemption_test.go
(TestCandidatesOrdering, TestPreemption) and pkg/scheduler/scheduler_test.go (the classical
entry order: workloads within nominal quota before borrowing ones) at commit
ff69552e79ad21652c36caa97038382e55625cf7. Quotas are GPUs where upstream uses cpu.
"""

from __future__ import annotations

import pytest

from gpuplane.objects.queues import (
    ClusterQueue,
    FlavorQuotas,
    Preemption,
    ReclaimWithinCohort,
    ResourceGroup,
    ResourceQuotaSpec,
    WithinClusterQueue,
)
from gpuplane.queueing import PodSet, Workload
from gpuplane.queueing.preemption import victim_order
from gpuplane.queueing.running import Running

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


# -- TestPreemption: ClusterQueues as upstream's test sets them up (cpu only), in quota-only
# admission. standalone: 6 cpu, withinClusterQueue LowerPriority. c1 and c2 share "cohort",
# 6 cpu each with borrowingLimit 6; c1: withinClusterQueue LowerPriority, reclaimWithinCohort
# LowerPriority; c2: withinClusterQueue Never, reclaimWithinCohort Any.

def _cpu_queue(name: str, cohort: str | None, preemption: Preemption) -> ClusterQueue:
    spec = ResourceQuotaSpec(6000, 6000 if cohort else None)
    group = ResourceGroup(("cpu",), (FlavorQuotas("default", {"cpu": spec}),))
    return ClusterQueue(name, (group,), cohort, preemption=preemption)


QUEUES = [
    _cpu_queue("standalone", None, LOWER),
    _cpu_queue("c1", "cohort", Preemption(WithinClusterQueue.LOWER_PRIORITY,
                                          ReclaimWithinCohort.LOWER_PRIORITY)),
    _cpu_queue("c2", "cohort", Preemption(WithinClusterQueue.NEVER, ReclaimWithinCohort.ANY)),
]

Admitted = list[tuple[str, str, int, int]]  # (name, queue, cpu, priority)
PREEMPTION: list[tuple[str, Admitted, tuple[str, int, int], list[str]]] = [
    ("preempt lowest priority",
     [("low", "standalone", 2, -1), ("mid", "standalone", 2, 0), ("high", "standalone", 2, 1)],
     ("standalone", 2, 1), ["low"]),
    ("preempt multiple",
     [("low", "standalone", 2, -1), ("mid", "standalone", 2, 0), ("high", "standalone", 2, 1)],
     ("standalone", 3, 1), ["low", "mid"]),
    ("no preemption for low priority",
     [("low", "standalone", 3, -1), ("mid", "standalone", 3, 0)], ("standalone", 1, -1), []),
    ("not enough low priority workloads",
     [("low", "standalone", 3, -1), ("mid", "standalone", 3, 0)], ("standalone", 4, 0), []),
    ("some free quota, preempt low priority",
     [("low", "standalone", 1, -1), ("mid", "standalone", 1, 0), ("high", "standalone", 3, 1)],
     ("standalone", 2, 1), ["low"]),
    ("reclaim quota from borrower",
     [("c1-low", "c1", 3, -1), ("c2-mid", "c2", 3, 0), ("c2-high", "c2", 6, 1)],
     ("c1", 3, 1), ["c2-mid"]),
    ("minimal set excludes low priority",
     [("low", "standalone", 1, -1), ("mid", "standalone", 2, 0), ("high", "standalone", 3, 1)],
     ("standalone", 2, 1), ["mid"]),
    ("no workloads borrowing",
     [("c1-high", "c1", 4, 1), ("c2-low-1", "c2", 4, -1)], ("c1", 4, 1), []),
    ("not enough workloads borrowing",
     [("c1-high", "c1", 4, 1), ("c2-low-1", "c2", 4, -1), ("c2-low-2", "c2", 4, -1)],
     ("c1", 4, 1), []),
    ("do not reclaim borrowed quota from same priority for withinCohort=ReclaimFromLowerPriority",
     [("c1", "c1", 2, 0), ("c2-1", "c2", 4, 0), ("c2-2", "c2", 4, 0)], ("c1", 4, 0), []),
    ("reclaim borrowed quota from same priority for withinCohort=ReclaimFromAny",
     [("c1-1", "c1", 4, 0), ("c1-2", "c1", 4, 1), ("c2", "c2", 2, 0)], ("c2", 4, 0), ["c1-1"]),
    ("preempt from all ClusterQueues in cohort",
     [("c1-low", "c1", 3, -1), ("c1-mid", "c1", 2, 0), ("c2-low", "c2", 3, -1),
      ("c2-mid", "c2", 4, 0)],
     ("c1", 4, 0), ["c1-low", "c2-low"]),
    ("can't preempt workloads in ClusterQueue for withinClusterQueue=Never",
     [("c2-low", "c2", 3, -1)], ("c2", 4, 1), []),
]


def _cpu_job(name: str, queue: str, cpu: int, priority: int, created: float) -> Workload:
    template = pod("t", cpu_milli=cpu * 1000, memory_mib=0)
    return Workload(f"ns/{name}", "ns", queue, (PodSet("main", template, 1),), priority, created)


@pytest.mark.parametrize(("name", "running", "incoming", "want"), PREEMPTION,
                         ids=[p[0] for p in PREEMPTION])
def test_preemption(name: str, running: Admitted, incoming: tuple[str, int, int],
                    want: list[str]) -> None:
    e = engine(QUEUES, nodes=4, placement_aware=False)
    for i, (w, queue, cpu, priority) in enumerate(running):
        assert e.submit(_cpu_job(w, queue, cpu, priority, float(i)), 0.0) is None
    assert len(e.cycle(0.0).admitted) == len(running)
    queue, cpu, priority = incoming
    e.submit(_cpu_job("in", queue, cpu, priority, 100.0), 1.0)
    result = e.cycle(1.0)
    # Upstream asks only for the targets; where none are needed the workload may still be
    # admitted by borrowing.
    assert sorted(evicted(result)) == sorted(want)
    if want:
        assert admitted(result) == ["in"]


def test_preempt_newer_workloads_with_the_same_priority() -> None:
    # preventStarvation: 6 cpu, withinClusterQueue LowerOrNewerEqualPriority. The preemptor
    # was created before wl2 and wl3 (same priority); wl2, admitted last, is the one to go.
    starve = _cpu_queue("preventStarvation", None,
                        Preemption(WithinClusterQueue.LOWER_OR_NEWER_EQUAL_PRIORITY))
    e = engine([starve], nodes=4, placement_aware=False)
    e.submit(_cpu_job("wl1", "preventStarvation", 2, 2, 0.0), 0.0)
    e.submit(_cpu_job("wl3", "preventStarvation", 2, 1, 0.0), 0.0)
    e.cycle(0.0)
    e.submit(_cpu_job("wl2", "preventStarvation", 2, 1, 0.0), 1.0)
    e.cycle(1.0)
    e.submit(_cpu_job("in", "preventStarvation", 2, 1, -15.0), 2.0)
    result = e.cycle(2.0)
    assert evicted(result) == ["wl2"]
    assert admitted(result) == ["in"]


def test_reclaim_quota_if_workload_requests_0_resources_for_a_resource_at_nominal_quota() -> None:
    # c1 and c2 also have 3Gi of memory each (borrowingLimit 3Gi); c1 uses all of its own.
    def queue(name: str, preemption: Preemption) -> ClusterQueue:
        quotas = {"cpu": ResourceQuotaSpec(6000, 6000), "memory": ResourceQuotaSpec(3072, 3072)}
        group = ResourceGroup(("cpu", "memory"), (FlavorQuotas("default", quotas),))
        return ClusterQueue(name, (group,), "cohort", preemption=preemption)

    e = engine([queue("c1", QUEUES[1].preemption), queue("c2", QUEUES[2].preemption)],
               nodes=4, placement_aware=False)
    low = pod("t", cpu_milli=3000, memory_mib=3072)
    e.submit(Workload("ns/c1-low", "ns", "c1", (PodSet("main", low, 1),), -1), 0.0)
    e.submit(_cpu_job("c2-mid", "c2", 3, 0, 1.0), 0.0)
    e.submit(_cpu_job("c2-high", "c2", 6, 1, 2.0), 0.0)
    assert len(e.cycle(0.0).admitted) == 3
    e.submit(_cpu_job("in", "c1", 3, 1, 100.0), 1.0)
    result = e.cycle(1.0)
    assert evicted(result) == ["c2-mid"]
    assert admitted(result) == ["in"]
