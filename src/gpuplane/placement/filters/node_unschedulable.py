"""NodeUnschedulable: cordoned nodes (spec.unschedulable) take no pods unless tolerated."""

from __future__ import annotations

import numpy as np

from gpuplane.cluster.state import BoolArray
from gpuplane.objects.scheduling import Taint, TaintEffect
from gpuplane.placement.framework import Cycle

# Kubernetes lets a pod onto a cordoned node if it tolerates this taint.
UNSCHEDULABLE_TAINT = Taint("node.kubernetes.io/unschedulable", "", TaintEffect.NO_SCHEDULE)


class NodeUnschedulableFilter:
    name = "NodeUnschedulable"
    depends = "constraints"

    def filter(self, cycle: Cycle) -> list[tuple[str, BoolArray]]:
        state = cycle.state
        key = ("unschedulable",)
        cordoned = cycle.cache.get(state, key)
        if cordoned is None:
            cordoned = np.array([n.unschedulable for n in state.nodes], dtype=np.bool_)
            cycle.cache.put(key, cordoned)
        if not cordoned.any():
            return []
        if any(t.tolerates(UNSCHEDULABLE_TAINT) for t in cycle.pod.tolerations):
            return []
        return [("node(s) were unschedulable", cordoned)]
