"""Kueue's flavor assigner tables, ported: flavor choice, fungibility, pods quota, isPreferred.

Upstream: kubernetes-sigs/kueue, pkg/scheduler/flavorassigner/flavorassigner_test.go
(TestAssignFlavors, TestIsPreferred) at commit ff69552e79ad21652c36caa97038382e55625cf7.
Quantities keep upstream's units (cpu in cores, written here in millicores). As upstream's
tests do, a fake preemption oracle answers "Preempt" wherever preemption could help.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from gpuplane.objects.queues import (
    ClusterQueue,
    FlavorFungibility,
    FlavorQuotas,
    FungibilityPolicy,
    ResourceFlavor,
    ResourceGroup,
    ResourceQuotaSpec,
)
from gpuplane.objects.scheduling import Taint, TaintEffect, Toleration
from gpuplane.queueing.flavors import FlavorChoice, Mode, _preferred, assign_flavors, queue_requests
from gpuplane.queueing.quota import QuotaTree

MAY, TRY = FungibilityPolicy.MAY_STOP_SEARCH, FungibilityPolicy.TRY_NEXT_FLAVOR


@dataclass(frozen=True)
class Case:
    name: str
    #: flavor -> resource -> (nominal, borrowingLimit or None)
    flavors: dict[str, dict[str, tuple[int, int | None]]]
    requests: dict[str, int]
    pods: int = 1
    fungibility: FlavorFungibility = field(default_factory=FlavorFungibility)
    usage: dict[tuple[str, str], int] = field(default_factory=dict)
    #: a second ClusterQueue of the cohort: flavor -> resource -> nominal
    peer: dict[str, dict[str, int]] | None = None
    #: the pod's tolerations
    tolerations: tuple[Toleration, ...] = ()
    want_flavor: str | None = None
    want_fits: bool = True
    want_error: str | None = None


def _queue(name: str, flavors: dict[str, dict[str, tuple[int, int | None]]], cohort: str | None,
           fungibility: FlavorFungibility) -> ClusterQueue:
    covered = tuple(dict.fromkeys(r for f in flavors.values() for r in f))
    group = ResourceGroup(
        covered,
        tuple(
            FlavorQuotas(f, {r: ResourceQuotaSpec(n, b) for r, (n, b) in res.items()})
            for f, res in flavors.items()
        ),
    )
    return ClusterQueue(name, (group,), cohort, flavor_fungibility=fungibility)


SPOT = Taint("instance", "spot", TaintEffect.NO_SCHEDULE)
TOLERATE_SPOT = Toleration("instance", "Equal", "spot", TaintEffect.NO_SCHEDULE)
#: The ResourceFlavors upstream's test defines (those the ported cases use).
FLAVORS = {
    "tainted": ResourceFlavor("tainted", node_taints=(SPOT,)),
    "taint_and_toleration": ResourceFlavor(
        "taint_and_toleration", node_taints=(SPOT,), tolerations=(TOLERATE_SPOT,)
    ),
}
CPU = "cpu"
CASES = [
    Case("single flavor, fits tainted flavor", {"tainted": {CPU: (4000, None)}}, {CPU: 1000},
         tolerations=(TOLERATE_SPOT,), want_flavor="tainted"),
    Case("single flavor, fits tainted flavor with toleration",
         {"taint_and_toleration": {CPU: (4000, None)}}, {CPU: 1000},
         want_flavor="taint_and_toleration"),
    Case("multiple flavors, fits while skipping tainted flavor",
         {"tainted": {CPU: (4000, None)}, "two": {CPU: (4000, None)}}, {CPU: 3000},
         want_flavor="two"),
    Case("single flavor, fits", {"default": {CPU: (1000, None)}}, {CPU: 1000},
         want_flavor="default"),
    Case("single flavor, used resources, doesn't fit", {"default": {CPU: (4000, None)}},
         {CPU: 3000}, usage={("default", CPU): 3000}, want_flavor="default", want_fits=False),
    Case("resource not listed in clusterQueue", {"one": {CPU: (4000, None)}},
         {CPU: 1000, "example.com/gpu": 1},
         want_error="resource example.com/gpu is not covered by ClusterQueue cq"),
    Case("num pods fit", {"default": {"pods": (3, None), CPU: (10000, None)}}, {CPU: 3000},
         pods=3, want_flavor="default"),
    Case("num pods don't fit", {"default": {"pods": (2, None), CPU: (10000, None)}},
         {CPU: 3000}, pods=3, want_flavor="default", want_fits=False),
    Case("preempt before try next flavor",
         {"one": {"pods": (10, None), CPU: (10000, None)},
          "two": {"pods": (10, None), CPU: (10000, None)}},
         {CPU: 9000}, fungibility=FlavorFungibility(MAY, MAY), usage={("one", CPU): 2000},
         want_flavor="one", want_fits=False),
    Case("preempt try next flavor",
         {"one": {"pods": (10, None), CPU: (10000, None)},
          "two": {"pods": (10, None), CPU: (10000, None)}},
         {CPU: 9000}, usage={("one", CPU): 2000}, want_flavor="two"),
    Case("borrow try next flavor, found the first flavor",
         {"one": {"pods": (10, None), CPU: (10000, 1000)},
          "two": {"pods": (10, None), CPU: (1000, None)}},
         {CPU: 9000}, fungibility=FlavorFungibility(TRY, TRY), usage={("one", CPU): 2000},
         peer={"one": {CPU: 1000}}, want_flavor="one"),
    Case("borrow try next flavor, found the second flavor",
         {"one": {"pods": (10, None), CPU: (10000, 1000)},
          "two": {"pods": (10, None), CPU: (10000, None)}},
         {CPU: 9000}, fungibility=FlavorFungibility(TRY, TRY), usage={("one", CPU): 2000},
         peer={"one": {CPU: 1000}}, want_flavor="two"),
    Case("borrow before try next flavor",
         {"one": {"pods": (10, None), CPU: (10000, 1000)},
          "two": {"pods": (10, None), CPU: (10000, None)}},
         {CPU: 9000}, usage={("one", CPU): 2000}, peer={"one": {CPU: 1000}},
         want_flavor="one"),
    Case("lend try next flavor, found the second flavor",
         {"one": {"pods": (10, None), CPU: (0, None)},
          "two": {"pods": (10, None), CPU: (10000, None)}},
         {CPU: 9000}, fungibility=FlavorFungibility(TRY, TRY), peer={"one": {CPU: 10000}},
         want_flavor="two"),
    Case("lend try next flavor, found the first flavor",
         {"one": {"pods": (10, None), CPU: (0, None)},
          "two": {"pods": (10, None), CPU: (1000, None)}},
         {CPU: 9000}, fungibility=FlavorFungibility(TRY, TRY), peer={"one": {CPU: 10000}},
         want_flavor="one"),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_assign_flavors(case: Case) -> None:
    cohort = "test-cohort" if case.peer is not None else None
    cq = _queue("cq", case.flavors, cohort, case.fungibility)
    queues = [cq]
    if case.peer is not None:
        peer = {f: {r: (n, None) for r, n in res.items()} for f, res in case.peer.items()}
        queues.append(_queue("peer", peer, cohort, FlavorFungibility()))
    tree = QuotaTree(queues)
    if case.usage:
        tree.add("cq", case.usage)
    requests = queue_requests(cq, {r: a * case.pods for r, a in case.requests.items()}, case.pods)
    got = assign_flavors(
        cq, requests, tree, FLAVORS, (), lambda amounts: Mode.PREEMPT, [case.tolerations]
    )
    if case.want_error is not None:
        assert got == case.want_error
        return
    assert isinstance(got, FlavorChoice)
    assert set(got.flavors.values()) == {case.want_flavor}
    assert got.fits is case.want_fits
    if "pods" in cq.resource_groups[0].covered:
        assert requests["pods"] == case.pods


G = tuple[Mode, int]
PREFERRED: list[tuple[str, G, G, bool, bool]] = [
    # (name, a, b, preemption over borrowing, want a preferred)
    ("feature gate disabled prioritises preemption", (Mode.FIT, 0), (Mode.PREEMPT, 0), False, True),
    ("explicit BorrowingOverPreemption prioritises borrowing distance",
     (Mode.PREEMPT, 1), (Mode.FIT, 2), False, False),
    ("explicit PreemptionOverBorrowing prioritises lower preemption",
     (Mode.PREEMPT, 1), (Mode.FIT, 2), True, True),
    ("explicit PreemptionOverBorrowing breaks borrowing ties with preemption",
     (Mode.PREEMPT, 1), (Mode.FIT, 1), True, False),
    ("explicit PreemptionOverBorrowing rejects no-candidate flavor before borrowing comparison",
     (Mode.NO_CANDIDATES, 1), (Mode.FIT, 2), True, False),
    ("explicit PreemptionOverBorrowing prefers fit over shallower-borrowing no-candidate flavor",
     (Mode.FIT, 2), (Mode.NO_CANDIDATES, 1), True, True),
    ("no-candidate flavor remains preferable to no-fit flavor",
     (Mode.NO_CANDIDATES, 1), (Mode.NO_FIT, 0), False, True),
    ("no-fit flavor remains worse than no-candidate flavor",
     (Mode.NO_FIT, 0), (Mode.NO_CANDIDATES, 1), False, False),
    ("no-candidate flavors retain borrowing preference",
     (Mode.NO_CANDIDATES, 1), (Mode.NO_CANDIDATES, 2), True, True),
    ("no-candidate flavors retain borrowing preference in reverse",
     (Mode.NO_CANDIDATES, 2), (Mode.NO_CANDIDATES, 1), True, False),
]


@pytest.mark.parametrize(("name", "a", "b", "preemption_first", "want"), PREFERRED,
                         ids=[p[0] for p in PREFERRED])
def test_is_preferred(name: str, a: G, b: G, preemption_first: bool, want: bool) -> None:
    assert _preferred(a, b, preemption_first) is want
