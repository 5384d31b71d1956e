"""NodeName: a pod with spec.nodeName runs on that node only."""

from __future__ import annotations

import numpy as np

from gpuplane.cluster.state import BoolArray
from gpuplane.placement.framework import Cycle


class NodeNameFilter:
    name = "NodeName"
    depends = "constraints"

    def filter(self, cycle: Cycle) -> list[tuple[str, BoolArray]]:
        wanted = cycle.pod.node_name
        if not wanted:
            return []
        other = np.ones(len(cycle.state), dtype=np.bool_)
        i = cycle.state.index.get(wanted)
        if i is not None:
            other[i] = False
        return [("node(s) didn't match the requested node name", other)]
