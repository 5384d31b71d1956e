"""NodeAffinity: spec.nodeSelector and required node affinity must both match a node.

Its PreFilter step, as upstream, reads `matchFields` on metadata.name with In (DaemonSet pods
pin themselves so): when every required term names nodes, only those are filtered, and when
the terms name no node in common the pod is rejected ("pod affinity terms conflict").
"""

from __future__ import annotations

import numpy as np

from gpuplane.cluster.state import BoolArray
from gpuplane.objects.scheduling import SelectorOperator
from gpuplane.placement.framework import Cycle, PreFilterResult

REASON = "node(s) didn't match Pod's node affinity/selector"
CONFLICT = "pod affinity terms conflict"


class NodeAffinityFilter:
    name = "NodeAffinity"
    depends = "constraints"

    def prefilter(self, cycle: Cycle) -> PreFilterResult:
        required = cycle.pod.affinity.required
        if not required:
            return PreFilterResult()
        names: set[str] = set()
        for term in required:
            term_names: set[str] | None = None
            for r in term.match_fields:
                if r.key == "metadata.name" and r.operator is SelectorOperator.IN:
                    # Requirements of one term are ANDed: intersect.
                    values = set(r.values)
                    term_names = values if term_names is None else term_names & values
            if term_names is None:
                return PreFilterResult()  # a term without names leaves every node possible
            names |= term_names
        if not names:
            return PreFilterResult(rejection=CONFLICT)
        nodes = np.array([n.name in names for n in cycle.state.nodes], dtype=np.bool_)
        return PreFilterResult(nodes=nodes)

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
