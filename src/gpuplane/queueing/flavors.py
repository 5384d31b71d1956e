"""Flavor assignment: which ResourceFlavor of each resource group a workload takes its quota from.

As Kueue's flavor assigner does, the flavors of a group are tried in the order the
ClusterQueue lists them, each given a mode: it fits (within the queue's own quota, or by
borrowing), it fits by preempting (reclaiming from other queues, or preempting in its own
queue), or it does not fit. The queue's flavorFungibility says when the search stops: a fit
within quota always stops it; a fit that borrows stops it unless whenCanBorrow is
TryNextFlavor; a fit by preemption stops it only when whenCanPreempt is MayStopSearch.
Otherwise the best flavor seen wins (a fit over reclaiming over preempting, then less
borrowing; PreemptionOverBorrowing swaps the two). A flavor that cannot fit at all is still
returned, when no other can, as the reason's candidate. A resource no group of the queue
covers makes the workload inadmissible in that queue, with a reason that says so. A queue
that covers `pods` counts each pod of a workload as one (Kueue's pods quota).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import IntEnum

from gpuplane.objects.pod import Pod
from gpuplane.objects.queues import (
    ClusterQueue,
    FlavorFungibility,
    FungibilityPolicy,
    ResourceFlavor,
)
from gpuplane.objects.scheduling import TaintEffect, Toleration
from gpuplane.queueing.quota import FlavorResource, QuotaNode, QuotaTree
from gpuplane.queueing.workload import Workload

PODS = "pods"
TRY_NEXT = FungibilityPolicy.TRY_NEXT_FLAVOR


class Mode(IntEnum):
    """How a flavor can take a workload, worst first (Kueue's preemption modes)."""

    NO_FIT = 0
    NO_CANDIDATES = 1  # preemption could make room, but no victim is allowed
    PREEMPT = 2  # victims in the queue itself
    RECLAIM = 3  # victims only in other queues of the cohort
    FIT = 4


#: Whether, and how, preemption could make room for these amounts.
Oracle = Callable[[Mapping[FlavorResource, int]], Mode]


@dataclass(frozen=True)
class FlavorChoice:
    """Per resource the flavor chosen, and whether quota has room for it as it stands."""

    flavors: Mapping[str, str]
    fits: bool

    def amounts(self, requests: Mapping[str, int]) -> dict[FlavorResource, int]:
        return {(self.flavors[r], r): a for r, a in requests.items() if a}


def queue_requests(queue: ClusterQueue, requests: Mapping[str, int], pods: int) -> dict[str, int]:
    """What a workload counts against `queue`: its requests, plus its pods where covered."""
    out = dict(requests)
    if any(PODS in g.covered for g in queue.resource_groups):
        out[PODS] = pods
    return out


def workload_flavors(
    queue: ClusterQueue,
    w: Workload,
    tree: QuotaTree,
    flavors: Mapping[str, ResourceFlavor],
    oracle: Oracle | None = None,
) -> tuple[FlavorChoice, dict[FlavorResource, int]] | str:
    """`w`'s flavors in `queue` and the quota it takes from them, or why none can be chosen."""
    requests = queue_requests(queue, w.requests(), w.pod_count)
    selectors = [ps.template.node_selector for ps in w.pod_sets]
    tolerations = [ps.template.tolerations for ps in w.pod_sets]
    choice = assign_flavors(queue, requests, tree, flavors, selectors, oracle, tolerations)
    return choice if isinstance(choice, str) else (choice, choice.amounts(requests))


def assign_flavors(
    queue: ClusterQueue,
    requests: Mapping[str, int],
    tree: QuotaTree,
    flavors: Mapping[str, ResourceFlavor] | None = None,
    selectors: Sequence[Mapping[str, str]] = (),
    oracle: Oracle | None = None,
    tolerations: Sequence[Sequence[Toleration]] = (),
) -> FlavorChoice | str:
    """The flavors for `requests` in `queue`, or the reason none can be chosen.

    Like Kueue, a flavor whose node labels contradict a pod's nodeSelector, or whose
    NoSchedule/NoExecute taints a pod does not tolerate (with the flavor's own tolerations),
    is passed over: its quota stands for nodes the pod could never run on. `oracle` ranks
    flavors that need preemption; without one they rank alike (first listed first).
    """
    chosen: dict[str, str] = {}
    fits = True
    covered = {r for g in queue.resource_groups for r in g.covered}
    missing = sorted(r for r, a in requests.items() if a and r not in covered)
    if missing:
        return f"resource {missing[0]} is not covered by ClusterQueue {queue.name}"
    node = tree.nodes[queue.name]
    policy = queue.flavor_fungibility
    for group in queue.resource_groups:
        wanted = {r: a for r, a in requests.items() if a and r in group.covered}
        if not wanted:
            continue
        best: tuple[Mode, int, str] | None = None
        candidates = [
            f.flavor
            for f in group.flavors
            if all(r in f.resources for r in wanted)
            and _compatible((flavors or {}).get(f.flavor), selectors, tolerations)
        ]
        for flavor in candidates:
            amounts = {(flavor, r): a for r, a in wanted.items()}
            mode, borrows = _mode(tree, node, amounts, oracle if len(candidates) > 1 else None)
            if not _try_next(mode, borrows, policy):
                best = (mode, borrows, flavor)
                break
            if best is None or _preferred(
                (mode, borrows), best[:2], policy.preemption_over_borrowing
            ):
                best = (mode, borrows, flavor)
        if best is None:
            return f"no flavor of ClusterQueue {queue.name} has quota for {sorted(wanted)}"
        fits = fits and best[0] is Mode.FIT
        for r in wanted:
            chosen[r] = best[2]
    return FlavorChoice(chosen, fits)


def _try_next(mode: Mode, borrows: int, policy: FlavorFungibility) -> bool:
    """Whether the search goes on past a flavor of this mode (Kueue's shouldTryNextFlavor)."""
    if mode <= Mode.NO_CANDIDATES:
        return True
    if mode is not Mode.FIT and policy.when_can_preempt is TRY_NEXT:
        return True
    return bool(borrows) and policy.when_can_borrow is TRY_NEXT


def _mode(
    tree: QuotaTree, node: QuotaNode, amounts: Mapping[FlavorResource, int], oracle: Oracle | None
) -> tuple[Mode, int]:
    """The flavor's mode for these amounts, and whether it borrows (Kueue's borrowing level)."""
    if any(a > tree.potential(node, fr) for fr, a in amounts.items()):
        return Mode.NO_FIT, 0
    borrows = int(
        any(node.usage.get(fr, 0) + a > node.subtree.get(fr, 0) for fr, a in amounts.items())
    )
    if all(tree.available(node, fr) >= a for fr, a in amounts.items()):
        return Mode.FIT, borrows
    if oracle is None:
        return Mode.PREEMPT, borrows
    return oracle(amounts), borrows


def _preferred(a: tuple[Mode, int], b: tuple[Mode, int], preemption_first: bool) -> bool:
    """Whether mode `a` is strictly better than `b` (Kueue's isPreferred)."""
    if a[0] is Mode.NO_FIT:
        return False
    if b[0] is Mode.NO_FIT:
        return True
    if (a[0] is Mode.NO_CANDIDATES) != (b[0] is Mode.NO_CANDIDATES):
        return b[0] is Mode.NO_CANDIDATES
    if preemption_first:
        return (a[1], -a[0]) < (b[1], -b[0])
    return (-a[0], a[1]) < (-b[0], b[1])


def _compatible(
    flavor: ResourceFlavor | None,
    selectors: Sequence[Mapping[str, str]],
    tolerations: Sequence[Sequence[Toleration]] = (),
) -> bool:
    if flavor is None:
        return True
    for pod_tolerations in tolerations:
        allowed = (*pod_tolerations, *flavor.tolerations)
        for taint in flavor.node_taints:
            if taint.effect is TaintEffect.PREFER_NO_SCHEDULE:
                continue
            if not any(t.tolerates(taint) for t in allowed):
                return False
    return all(
        selector.get(key, value) == value
        for selector in selectors
        for key, value in flavor.node_labels.items()
    )


def with_flavor(pod: Pod, flavors: Mapping[str, ResourceFlavor], chosen: Mapping[str, str]) -> Pod:
    """The pod as Kueue starts it: the chosen flavors' node labels and tolerations added."""
    selector = dict(pod.node_selector)
    tolerations = list(pod.tolerations)
    for name in sorted(set(chosen.values())):
        flavor = flavors.get(name)
        if flavor is None:
            continue
        selector.update(flavor.node_labels)
        tolerations += [t for t in flavor.tolerations if t not in tolerations]
    if selector == pod.node_selector and len(tolerations) == len(pod.tolerations):
        return pod  # nothing added (the usual flavor without labels or tolerations)
    return replace(pod, node_selector=selector, tolerations=tuple(tolerations))
