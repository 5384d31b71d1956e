"""MostAllocated: prefer the fullest nodes (bin-packing), leaving whole nodes free for big jobs."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from gpuplane.cluster.state import IntArray
from gpuplane.placement.framework import MAX_NODE_SCORE, Cycle
from gpuplane.placement.scores.resource_allocation import (
    DEFAULT_WEIGHTS,
    FloatArray,
    weighted_score,
)


def _most(requested: FloatArray, alloc: FloatArray) -> FloatArray:
    return np.minimum(requested, alloc) * MAX_NODE_SCORE / alloc


class MostAllocatedScore:
    name = "MostAllocated"
    depends = "node"

    def __init__(self, weights: Mapping[str, int] = DEFAULT_WEIGHTS) -> None:
        self.weights = dict(weights)

    def score(self, cycle: Cycle) -> IntArray:
        return weighted_score(cycle, self.weights, _most)
