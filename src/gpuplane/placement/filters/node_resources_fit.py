"""NodeResourcesFit: CPU, memory, pod count, extended resources and GPUs must fit.

A node short of several resources is counted under each of them, as kube-scheduler does.
"""

from __future__ import annotations

import numpy as np

from gpuplane.cluster.state import BoolArray
from gpuplane.placement.framework import Cycle


class NodeResourcesFitFilter:
    name = "NodeResourcesFit"

    def filter(self, cycle: Cycle) -> list[tuple[str, BoolArray]]:
        pod, state = cycle.pod, cycle.state
        out: list[tuple[str, BoolArray]] = [("Too many pods", state.pods_free < 1)]
        if pod.cpu_milli:
            out.append(("Insufficient cpu", state.cpu_free < pod.cpu_milli))
        if pod.memory_mib:
            out.append(("Insufficient memory", state.mem_free < pod.memory_mib))
        for resource, amount in pod.extended.items():
            if amount <= 0:
                continue
            col = state.ext_col.get(resource)
            free = state.ext_free[:, col] if col is not None else np.zeros(len(state), np.int64)
            out.append((f"Insufficient {resource}", free < amount))
        out.extend(cycle.gpu.failures())
        return out
