"""Random: one feasible node drawn uniformly, and on it a random GPU that can take the task.

This is the baseline of the FGD paper. As in its simulator, one feasible node is drawn per
pod and scores 100, every other node 0. A single GPU share then goes to a GPU drawn uniformly
among the node's GPUs that can take it (idle ones included); whole GPUs and multi-GPU shares
keep the default assignment (lowest free indices, fullest GPUs first). Every draw comes from
the scheduler's generator; a scheduler without one gets a generator seeded with 0, so that a
run is still reproducible.
"""

from __future__ import annotations

import numpy as np

from gpuplane.cluster.state import IntArray
from gpuplane.placement.assign import Assignment
from gpuplane.placement.framework import MAX_NODE_SCORE, Cycle


class RandomScore:
    name = "Random"

    def __init__(self) -> None:
        self._fallback = np.random.default_rng(0)

    def _rng(self, cycle: Cycle) -> np.random.Generator:
        return cycle.rng if cycle.rng is not None else self._fallback

    def score(self, cycle: Cycle) -> IntArray:
        assert cycle.feasible is not None, "score runs after the filters"
        feasible = np.flatnonzero(cycle.feasible)
        out = np.zeros(len(cycle.state), dtype=np.int64)
        out[feasible[self._rng(cycle).integers(feasible.size)]] = MAX_NODE_SCORE
        return out

    def assign(self, cycle: Cycle, node: int) -> Assignment | None:
        req = cycle.pod.gpu
        if not (cycle.gpu.fraction and req.count == 1):
            return None
        candidates = np.flatnonzero(cycle.gpu.usable()[node])
        gpu = int(candidates[self._rng(cycle).integers(candidates.size)])
        return Assignment(
            gpus=(gpu,), milli=(req.milli,), memory_mib=(int(cycle.gpu.need_memory()[node, gpu]),)
        )
