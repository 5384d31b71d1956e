"""NodeResourcesFit: CPU, memory, pod count, native and extended resources and GPUs must fit.

A node short of several resources is counted under each of them, as kube-scheduler does.
Memory is compared in bytes, so a pod asking exactly a node's allocatable fits whatever unit
either side wrote. Native resources (ephemeral-storage, hugepages-<size>, `kubernetes.io/`
names) are checked like extended ones: a node that does not offer one has none of it, except
ephemeral-storage, which is checked only on nodes that report it (cluster specs describe no
disks; every kubelet reports it, so on real nodes it is always checked).
"""

from __future__ import annotations

import numpy as np

from gpuplane.cluster.state import BoolArray, IntArray
from gpuplane.objects.read_resources import EPHEMERAL_STORAGE
from gpuplane.placement.framework import Cycle


class NodeResourcesFitFilter:
    name = "NodeResourcesFit"
    #: A node fits or not by its own free resources and the pod's requests alone.
    depends = "node"

    def filter(self, cycle: Cycle) -> list[tuple[str, BoolArray]]:
        pod, state, ix = cycle.pod, cycle.state, cycle.index()
        out: list[tuple[str, BoolArray]] = [("Too many pods", state.pods_free[ix] < 1)]
        if pod.cpu_milli:
            out.append(("Insufficient cpu", state.cpu_free[ix] < pod.cpu_milli))
        memory = pod.memory_request_bytes
        if memory:
            out.append(("Insufficient memory", state.mem_free_bytes[ix] < memory))
        for resource, amount in pod.native.items():
            if amount <= 0:
                continue
            short = _free(cycle, resource) < amount
            if resource == EPHEMERAL_STORAGE:
                short &= _reports(cycle, resource)[ix]
            out.append((f"Insufficient {resource}", short))
        for resource, amount in pod.extended.items():
            if amount <= 0:
                continue
            out.append((f"Insufficient {resource}", _free(cycle, resource) < amount))
        out.extend(cycle.gpu.failures(cycle.rows))
        return out


def _free(cycle: Cycle, resource: str) -> IntArray:
    state = cycle.state
    col = state.ext_col.get(resource)
    if col is None:
        return np.zeros(cycle.size(), np.int64)
    free: IntArray = state.ext_free[cycle.index(), col]
    return free


def _reports(cycle: Cycle, resource: str) -> BoolArray:
    key = ("reports", resource)
    mask: BoolArray | None = cycle.cache.get(cycle.state, key)
    if mask is None:
        mask = np.array([resource in n.native for n in cycle.state.nodes], dtype=np.bool_)
        cycle.cache.put(key, mask)
    return mask


def native_taken(cycle: Cycle, node: int) -> dict[str, int]:
    """The pod's native resources that `node` accounts for (those it reports)."""
    offered = cycle.state.nodes[node].native
    return {name: amount for name, amount in cycle.pod.native.items() if name in offered}
