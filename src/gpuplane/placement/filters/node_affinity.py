"""NodeAffinity: spec.nodeSelector and required node affinity must both match a node."""

from __future__ import annotations

import numpy as np

from gpuplane.cluster.state import BoolArray
from gpuplane.placement.framework import Cycle

REASON = "node(s) didn't match Pod's node affinity/selector"


class NodeAffinityFilter:
    name = "NodeAffinity"

    def filter(self, cycle: Cycle) -> list[tuple[str, BoolArray]]:
        pod = cycle.pod
        if not pod.node_selector and pod.affinity.required is None:
            return []
        selector = tuple(sorted(pod.node_selector.items()))
        key = ("affinity", selector, pod.affinity.required)
        failing: BoolArray | None = cycle.cache.get(cycle.state, key)
        if failing is None:
            failing = np.array(
                [
                    not (
                        all(node.labels.get(k) == v for k, v in selector)
                        and pod.affinity.matches(node.name, dict(node.labels))
                    )
                    for node in cycle.state.nodes
                ],
                dtype=np.bool_,
            )
            cycle.cache.put(key, failing)
        return [(REASON, failing)]
