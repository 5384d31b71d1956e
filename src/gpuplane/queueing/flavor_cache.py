"""Flavor assignments remembered while quota usage stays as it was.

An admission cycle asks for the flavors of every head it looks at, once to order the queues
and again to try it, and a deep backlog holds many workloads of one shape: between two changes
of usage the answers repeat. An answer is kept per queue and per what the assignment reads of
a workload (its requests, pod count, node selectors and tolerations) until the QuotaTree's
usage changes. Answers that asked the preemption oracle (several candidate flavors that need
preemption) are not kept: the oracle reads the running workloads and the preemptor itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from gpuplane.objects.queues import ClusterQueue, ResourceFlavor
from gpuplane.queueing.flavors import FlavorChoice, Mode, workload_flavors
from gpuplane.queueing.quota import FlavorResource, QuotaTree
from gpuplane.queueing.workload import Workload

Answer = tuple[FlavorChoice, dict[FlavorResource, int]] | str
#: Whether preemption could make room for `amounts` for workload `w` in queue `queue`.
Possibility = Callable[[Workload, str, Mapping[FlavorResource, int]], Mode]


class FlavorCache:
    """`workload_flavors`, answered from memory while the tree's usage has not changed."""

    def __init__(
        self,
        tree: QuotaTree,
        flavors: Mapping[str, ResourceFlavor],
        possibility: Possibility,
    ) -> None:
        self.tree = tree
        self.flavors = flavors
        self.possibility = possibility
        self._version = -1
        self._answers: dict[tuple[str, object], Answer] = {}

    def get(self, queue: ClusterQueue, w: Workload) -> Answer:
        if self._version != self.tree.version:
            self._answers.clear()
            self._version = self.tree.version
        key = (queue.name, _reads(w))
        hit = self._answers.get(key)
        if hit is not None:
            return hit if isinstance(hit, str) else (hit[0], dict(hit[1]))
        asked = False

        def oracle(amounts: Mapping[FlavorResource, int]) -> Mode:
            nonlocal asked
            asked = True
            return self.possibility(w, queue.name, amounts)

        got = workload_flavors(queue, w, self.tree, self.flavors, oracle)
        if not asked:
            self._answers[key] = got if isinstance(got, str) else (got[0], dict(got[1]))
        return got


def _reads(w: Workload) -> object:
    """What flavor assignment reads of `w` (computed once per workload)."""
    cached: object = w.__dict__.get("_flavor_reads")
    if cached is None:
        cached = (
            tuple(sorted(w.requests().items())),
            w.pod_count,
            tuple(tuple(sorted(ps.template.node_selector.items())) for ps in w.pod_sets),
            tuple(ps.template.tolerations for ps in w.pod_sets),
        )
        # Workload is frozen; the cache is not part of its value.
        object.__setattr__(w, "_flavor_reads", cached)
    return cached
