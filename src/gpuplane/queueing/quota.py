"""Quota accounting over ClusterQueues and (hierarchical) cohorts, per flavor and resource.

Every node of the tree (a ClusterQueue or a cohort) has, for each (flavor, resource):

* Q, its subtree quota: its own nominal quota plus what its children lend to it;
* lend, what it lends upward: Q, capped by its lendingLimit;
* guaranteed = Q - lend: what only its own subtree may use;
* U, its usage: a ClusterQueue's admitted requests; for a cohort, what its children use
  beyond their guaranteed part (that is what they draw from the cohort's pool).

What a node can still take is its unused guaranteed part plus what it may draw from its
parent: at most lend + borrowingLimit beyond the guaranteed part (unbounded without a
borrowingLimit), and no more than the parent can give. A root takes at most its Q. A
ClusterQueue without a cohort is its own root: it can never exceed its nominal quota.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from gpuplane.objects.queues import ClusterQueue, Cohort, ResourceGroup

FlavorResource = tuple[str, str]  # (flavor, resource)
INF = 1 << 62


@dataclass
class QuotaNode:
    name: str
    is_queue: bool
    parent: QuotaNode | None = None
    children: list[QuotaNode] = field(default_factory=list)
    nominal: dict[FlavorResource, int] = field(default_factory=dict)
    borrowing_limit: dict[FlavorResource, int | None] = field(default_factory=dict)
    lending_limit: dict[FlavorResource, int | None] = field(default_factory=dict)
    usage: dict[FlavorResource, int] = field(default_factory=dict)
    fair_weight: float = 1.0
    # Derived, recomputed when the tree is built (quotas do not change while it runs).
    subtree: dict[FlavorResource, int] = field(default_factory=dict)


def _quotas(groups: Iterable[ResourceGroup], node: QuotaNode) -> None:
    for group in groups:
        for flavor in group.flavors:
            for resource, spec in flavor.resources.items():
                fr = (flavor.flavor, resource)
                node.nominal[fr] = spec.nominal
                node.borrowing_limit[fr] = spec.borrowing_limit
                node.lending_limit[fr] = spec.lending_limit


class QuotaTree:
    """The cohort forest with usage, answering "can queue X take this much more?"."""

    def __init__(self, queues: Iterable[ClusterQueue], cohorts: Iterable[Cohort] = ()) -> None:
        self.nodes: dict[str, QuotaNode] = {}
        self.cohorts: dict[str, QuotaNode] = {}
        #: Bumped on every usage change; `available` answers are kept per version.
        self.version = 0
        self._available: dict[tuple[int, FlavorResource], tuple[int, int]] = {}
        for cohort in cohorts:
            node = QuotaNode(cohort.name, False, fair_weight=cohort.fair_weight)
            _quotas(cohort.resource_groups, node)
            self.cohorts[cohort.name] = node
        for cohort in cohorts:
            if cohort.parent:
                self._link(self.cohorts[cohort.name], self._cohort(cohort.parent))
        for queue in queues:
            node = QuotaNode(queue.name, True, fair_weight=queue.fair_weight)
            _quotas(queue.resource_groups, node)
            self.nodes[queue.name] = node
            if queue.cohort:
                self._link(node, self._cohort(queue.cohort))
        for root in self._roots():
            self._subtree(root)

    def _cohort(self, name: str) -> QuotaNode:
        # A cohort named only by its members exists implicitly, as in Kueue.
        if name not in self.cohorts:
            self.cohorts[name] = QuotaNode(name, False)
        return self.cohorts[name]

    @staticmethod
    def _link(child: QuotaNode, parent: QuotaNode) -> None:
        ancestor: QuotaNode | None = parent
        while ancestor is not None:
            if ancestor is child:
                raise ValueError(f"cohort cycle through {child.name}")
            ancestor = ancestor.parent
        child.parent = parent
        parent.children.append(child)

    def _roots(self) -> list[QuotaNode]:
        everything = list(self.nodes.values()) + list(self.cohorts.values())
        return [n for n in everything if n.parent is None]

    def _subtree(self, node: QuotaNode) -> None:
        total = dict(node.nominal)
        for child in node.children:
            self._subtree(child)
            for fr in child.subtree:
                total[fr] = total.get(fr, 0) + self.lend(child, fr)
        node.subtree = total

    # -- the quantities of the model -----------------------------------------------------------

    def lend(self, node: QuotaNode, fr: FlavorResource) -> int:
        q = node.subtree.get(fr, 0)
        limit = node.lending_limit.get(fr)
        return q if limit is None else min(q, limit)

    def guaranteed(self, node: QuotaNode, fr: FlavorResource) -> int:
        return node.subtree.get(fr, 0) - self.lend(node, fr)

    def available(self, node: QuotaNode, fr: FlavorResource) -> int:
        """How much more of `fr` the subtree of `node` may take now.

        Remembered until usage changes anywhere: an admission cycle asks it for the same
        queues again and again while nothing is admitted.
        """
        key = (id(node), fr)
        hit = self._available.get(key)
        if hit is not None and hit[0] == self.version:
            return hit[1]
        value = self._compute_available(node, fr)
        self._available[key] = (self.version, value)
        return value

    def _compute_available(self, node: QuotaNode, fr: FlavorResource) -> int:
        q, used = node.subtree.get(fr, 0), node.usage.get(fr, 0)
        if node.parent is None:
            return max(0, q - used)
        g = self.guaranteed(node, fr)
        own = max(0, g - used)
        limit = node.borrowing_limit.get(fr)
        cap = INF if limit is None else self.lend(node, fr) + limit - max(0, used - g)
        return own + max(0, min(cap, self.available(node.parent, fr)))

    def potential(self, node: QuotaNode, fr: FlavorResource) -> int:
        """The most of `fr` the node could hold with nothing else admitted (Kueue's
        PotentialAvailable): beyond it a workload never fits, whatever is preempted."""
        q = node.subtree.get(fr, 0)
        if node.parent is None:
            return q
        limit = node.borrowing_limit.get(fr)
        cap = INF if limit is None else self.lend(node, fr) + limit
        return self.guaranteed(node, fr) + min(cap, self.potential(node.parent, fr))

    def fits(self, queue: str, amounts: Mapping[FlavorResource, int]) -> bool:
        node = self.nodes[queue]
        return all(self.available(node, fr) >= amount for fr, amount in amounts.items() if amount)

    def borrowed(self, node: QuotaNode, fr: FlavorResource) -> int:
        """Usage above the node's own subtree quota: what it takes from others."""
        return max(0, node.usage.get(fr, 0) - node.subtree.get(fr, 0))

    # -- changing usage ------------------------------------------------------------------------

    def add(self, queue: str, amounts: Mapping[FlavorResource, int], sign: int = 1) -> None:
        """Add (or with sign=-1 remove) usage of a queue and carry it up its cohorts."""
        self.version += 1
        node: QuotaNode | None = self.nodes[queue]
        deltas = {fr: sign * a for fr, a in amounts.items() if a}
        while node is not None and deltas:
            beyond_before = {
                fr: max(0, node.usage.get(fr, 0) - self.guaranteed(node, fr)) for fr in deltas
            }
            for fr, d in deltas.items():
                node.usage[fr] = node.usage.get(fr, 0) + d
            # What the parent sees is the change in usage beyond this node's guaranteed part.
            nxt = {}
            for fr in deltas:
                after = max(0, node.usage[fr] - self.guaranteed(node, fr))
                if after != beyond_before[fr]:
                    nxt[fr] = after - beyond_before[fr]
            deltas = nxt
            node = node.parent

    # -- fair sharing --------------------------------------------------------------------------

    def share(self, node: QuotaNode, extra: Mapping[FlavorResource, int] | None = None) -> float:
        """Dominant resource share: max over resources of borrowed / what the parent can lend.

        Divided by the fair-sharing weight; 0 for a node that borrows nothing. `extra` is
        usage to add first (the share a queue would have after admitting a workload).
        """
        parent = node.parent
        if parent is None:
            return 0.0
        best = 0.0
        frs = set(node.usage) | set(extra or {})
        for fr in frs:
            used = node.usage.get(fr, 0) + (extra or {}).get(fr, 0)
            borrowed = max(0, used - node.subtree.get(fr, 0))
            pool = parent.subtree.get(fr, 0)
            if borrowed and pool:
                best = max(best, borrowed / pool)
        return best / max(node.fair_weight, 1e-9)
