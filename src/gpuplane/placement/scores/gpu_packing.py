"""GpuPacking: put a task on GPUs that are already in use, then on used nodes, idle nodes last.

The FGD paper's GpuPacking baseline, in tiers (higher is better):

* the node's GPUs are all idle: 33 - idle GPUs, but at least the idle count (a small idle
  node is preferred to a big one);
* the task needs idle GPUs on a node already in use: 50 - idle GPUs it takes, at least 33;
* the task fits on GPUs already shared: 100 - (sum over the GPUs it takes of their free
  percent) // 10, at least 50 (the fuller the GPU, the better).

The GPUs it takes are the fullest that fit, as the default assignment then picks them. Tasks
without a GPU share score 0 everywhere (ties are broken by the scheduler).
"""

from __future__ import annotations

import numpy as np

from gpuplane.cluster.state import BoolArray, IntArray
from gpuplane.objects.gpu_request import GpuKind
from gpuplane.placement.framework import Cycle

_NONE = 10_000  # sorts after every real free share


class GpuPackingScore:
    name = "GpuPacking"

    def score(self, cycle: Cycle) -> IntArray:
        state, req = cycle.state, cycle.pod.gpu
        n = len(state)
        if not req.wants_gpu or req.kind not in (GpuKind.WHOLE, GpuKind.FRACTION):
            return np.zeros(n, dtype=np.int64)
        candidates: BoolArray = cycle.gpu.usable() if cycle.gpu.fraction else _idle(cycle)
        free = np.where(candidates, state.gpu_free_milli, _NONE)
        # The GPUs taken: the `count` fullest candidates (a minimum is cheaper than a sort).
        taken = free.min(axis=1, keepdims=True) if req.count == 1 else np.sort(free, axis=1)
        taken = taken[:, : req.count]
        fits = (taken < _NONE).all(axis=1)
        idle_taken = (taken == 1000).sum(axis=1)
        free_percent = np.where(taken < _NONE, taken * 100 // 1000, 0).sum(axis=1)
        idle = state.gpu_idle_count
        all_idle = np.maximum(33 - idle, idle)
        needs_idle = np.maximum(50 - idle_taken, 33)
        shared = np.maximum(100 - free_percent // 10, 50)
        tiers = np.where(
            idle == state.gpu_count, all_idle, np.where(idle_taken > 0, needs_idle, shared)
        )
        out: IntArray = np.where(fits, tiers, 0)
        return out


def _idle(cycle: Cycle) -> BoolArray:
    s = cycle.state
    idle: BoolArray = (
        s.gpu_healthy & (s.gpu_free_milli == 1000) & (s.gpu_free_mem == s.gpu_mem_total)
    )
    return idle
