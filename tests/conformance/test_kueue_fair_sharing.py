"""Kueue's fair-sharing scheduler tables, ported: which head is admitted first in a cohort.

Upstream: kubernetes-sigs/kueue, pkg/scheduler/scheduler_fs_test.go (TestScheduleForFairSharing)
and pkg/scheduler/fair_sharing_iterator.go (FairSharingPrioritizeNonBorrowing, on by default
since 0.17: a workload within its queue's quota goes before borrowing ones, then the lowest
share after admission) at commit ff69552e79ad21652c36caa97038382e55625cf7. CPU quota in
cores; quota-only admission.
"""

from __future__ import annotations

from gpuplane.objects.queues import (
    ClusterQueue,
    FlavorQuotas,
    Preemption,
    ReclaimWithinCohort,
    ResourceFlavor,
    ResourceGroup,
    ResourceQuotaSpec,
    WithinClusterQueue,
)
from gpuplane.queueing import PodSet, Queueing, Workload

from helpers import pod
from queueing_helpers import engine


def _queue(name: str, flavors: dict[str, tuple[int, int]],
           preemption: Preemption | None = None) -> ClusterQueue:
    group = ResourceGroup(("cpu",), tuple(
        FlavorQuotas(f, {"cpu": ResourceQuotaSpec(n * 1000, b * 1000)})
        for f, (n, b) in flavors.items()
    ))
    return ClusterQueue(name, (group,), "eng", preemption=preemption or Preemption())


def _w(name: str, queue: str, pods: int, created: float = 0.0) -> Workload:
    return Workload(f"ns/{name}", "ns", queue,
                    (PodSet("one", pod("t", cpu_milli=1000, memory_mib=0), pods),),
                    created=created)


def _engine(queues: list[ClusterQueue]) -> Queueing:
    e = engine(queues, nodes=4, placement_aware=False, fair_sharing=True)
    e.flavors.update({f: ResourceFlavor(f) for f in ("on-demand", "spot")})
    return e


def test_with_fair_sharing_schedule_workload_with_lowest_share_first() -> None:
    # Divergence in timing only: Kueue leaves older_new for the next cycle (its flavor was
    # chosen before `new` took the last on-demand quota); gpuplane chooses again at once and
    # admits it on spot in the same cycle.
    e = _engine([
        _queue("eng-alpha", {"on-demand": (50, 50), "spot": (100, 0)}),
        _queue("eng-beta", {"on-demand": (50, 10), "spot": (0, 100)},
               Preemption(WithinClusterQueue.LOWER_PRIORITY, ReclaimWithinCohort.ANY)),
        _queue("eng-shared", {"on-demand": (10, 0)}),
    ])
    e.submit(_w("all_nominal", "eng-alpha", 50), 0.0)
    e.submit(_w("borrowing", "eng-beta", 55), 0.0)
    assert len(e.cycle(0.0).admitted) == 2
    e.submit(_w("older_new", "eng-beta", 1, created=-60.0), 1.0)
    e.submit(_w("new", "eng-alpha", 5, created=0.0), 1.0)
    first = e.cycle(1.0).admitted[0]
    assert first.workload.key == "ns/new"
    assert dict(first.flavors) == {"cpu": "on-demand"}


def test_with_fair_sharing_nominal_first_ordering_admits_workload_fitting_within_nominal_despite_higher_cq_drs() -> None:  # noqa: E501
    e = _engine([
        _queue("fs-nom-a", {"on-demand": (50, 0), "spot": (50, 50)}),
        _queue("fs-nom-b", {"on-demand": (10, 50), "spot": (50, 0)}),
    ])
    e.submit(_w("spot-heavy", "fs-nom-a", 80), 0.0)
    e.submit(_w("light-usage", "fs-nom-b", 5), 0.0)
    assert {a.workload.key: a.flavors["cpu"] for a in e.cycle(0.0).admitted} == {
        "ns/spot-heavy": "spot", "ns/light-usage": "on-demand"}
    e.submit(_w("borrow-wl", "fs-nom-b", 15, created=-60.0), 1.0)
    e.submit(_w("nom-wl", "fs-nom-a", 45, created=0.0), 1.0)
    result = e.cycle(1.0)
    # nom-wl (within fs-nom-a's on-demand quota) goes first though fs-nom-a's share is
    # higher. Kueue then leaves borrow-wl for the next cycle; gpuplane, choosing its flavor
    # again at once, admits it on spot in the same cycle (the same timing divergence as above).
    assert [(a.workload.key, a.flavors["cpu"]) for a in result.admitted] == [
        ("ns/nom-wl", "on-demand"), ("ns/borrow-wl", "spot")]
