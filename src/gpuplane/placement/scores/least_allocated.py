"""LeastAllocated: prefer nodes with the most left free (kube-scheduler's default: spreads)."""

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


def _least(requested: FloatArray, alloc: FloatArray) -> FloatArray:
    left = np.where(requested > alloc, 0, alloc - requested)
    return left * MAX_NODE_SCORE / alloc


class LeastAllocatedScore:
    name = "LeastAllocated"
    depends = "node"

    def __init__(self, weights: Mapping[str, int] = DEFAULT_WEIGHTS) -> None:
        self.weights = dict(weights)

    def score(self, cycle: Cycle) -> IntArray:
        return weighted_score(cycle, self.weights, _least)
