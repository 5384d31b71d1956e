"""Flavor assignment: which ResourceFlavor of each resource group a workload takes its quota from.

As Kueue's flavor assigner does, the flavors of a group are tried in the order the
ClusterQueue lists them; the first one whose quota (borrowing included) has room wins. When
none has room, the first flavor that has any quota for every resource is still returned, as a
candidate for preemption. A resource no group of the queue covers makes the workload
inadmissible in that queue, with a reason that says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from gpuplane.objects.pod import Pod
from gpuplane.objects.queues import ClusterQueue, ResourceFlavor
from gpuplane.queueing.quota import FlavorResource, QuotaTree


@dataclass(frozen=True)
class FlavorChoice:
    """Per resource the flavor chosen, and whether quota has room for it as it stands."""

    flavors: Mapping[str, str]
    fits: bool

    def amounts(self, requests: Mapping[str, int]) -> dict[FlavorResource, int]:
        return {(self.flavors[r], r): a for r, a in requests.items() if a}


def assign_flavors(
    queue: ClusterQueue,
    requests: Mapping[str, int],
    tree: QuotaTree,
    flavors: Mapping[str, ResourceFlavor] | None = None,
    selectors: Sequence[Mapping[str, str]] = (),
) -> FlavorChoice | str:
    """The flavors for `requests` in `queue`, or the reason none can be chosen.

    Like Kueue, a flavor whose node labels contradict a pod's nodeSelector is passed over:
    its quota stands for nodes the pod could never run on.
    """
    chosen: dict[str, str] = {}
    fits = True
    covered = {r for g in queue.resource_groups for r in g.covered}
    missing = sorted(r for r, a in requests.items() if a and r not in covered)
    if missing:
        return f"resource {missing[0]} is not covered by ClusterQueue {queue.name}"
    node = tree.nodes[queue.name]
    for group in queue.resource_groups:
        wanted = {r: a for r, a in requests.items() if a and r in group.covered}
        if not wanted:
            continue
        fallback: str | None = None
        picked: str | None = None
        for flavor in group.flavors:
            if not all(r in flavor.resources for r in wanted):
                continue
            if not _compatible((flavors or {}).get(flavor.flavor), selectors):
                continue
            fallback = fallback or flavor.flavor
            if all(tree.available(node, (flavor.flavor, r)) >= a for r, a in wanted.items()):
                picked = flavor.flavor
                break
        if picked is None:
            if fallback is None:
                return f"no flavor of ClusterQueue {queue.name} has quota for {sorted(wanted)}"
            picked, fits = fallback, False
        for r in wanted:
            chosen[r] = picked
    return FlavorChoice(chosen, fits)


def _compatible(flavor: ResourceFlavor | None, selectors: Sequence[Mapping[str, str]]) -> bool:
    if flavor is None:
        return True
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
    return replace(pod, node_selector=selector, tolerations=tuple(tolerations))
