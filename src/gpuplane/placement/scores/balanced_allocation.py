"""NodeResourcesBalancedAllocation: prefer nodes whose resources fill evenly.

As kube-scheduler: per resource the fraction requested after placing the pod (capped at 1),
then 100 * (1 - standard deviation of the fractions), truncated; with two resources the
deviation is half their difference. A resource the node has none of is left out, and an
extended one the pod does not ask for too (see resource_allocation).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from gpuplane.cluster.state import BoolArray, IntArray
from gpuplane.placement.framework import MAX_NODE_SCORE, Cycle
from gpuplane.placement.scores.resource_allocation import (
    DEFAULT_WEIGHTS,
    FloatArray,
    allocatable_and_requested,
    pod_request,
)


class BalancedAllocationScore:
    name = "NodeResourcesBalancedAllocation"
    depends = "node"

    def __init__(self, resources: Mapping[str, int] = DEFAULT_WEIGHTS) -> None:
        # Upstream takes weighted resources but uses only their names.
        self.resources = tuple(resources)

    def score(self, cycle: Cycle) -> IntArray:
        n = cycle.size()
        if not any(pod_request(cycle.pod, r) for r in self.resources):
            # Upstream skips best-effort pods (kubernetes#129138): else they would all follow
            # the most balanced node.
            return np.zeros(n, dtype=np.int64)
        fractions, present = [], []
        for resource in self.resources:
            alloc, requested = allocatable_and_requested(cycle, resource)
            has = alloc > 0
            fractions.append(np.minimum(requested / np.where(has, alloc, 1), 1.0))
            present.append(has)
        if not fractions:
            return np.full(n, MAX_NODE_SCORE, dtype=np.int64)
        if len(fractions) == 2:
            # kube-scheduler's two-resource shortcut, |f1 - f2| / 2, bit for bit; with one
            # resource or none present the deviation is 0. (The common case, in few numpy
            # calls: it runs for every node that changed, on every cycle.)
            both = present[0] & present[1]
            std = np.where(both, np.abs(fractions[0] - fractions[1]) / 2, 0.0)
        else:
            std = _deviation(np.array(fractions, dtype=np.float64), np.array(present))
        result: IntArray = ((1 - std) * MAX_NODE_SCORE).astype(np.int64)
        return result


def _deviation(frac: FloatArray, has: BoolArray) -> FloatArray:
    """The standard deviation of each node's present fractions (rows: resources)."""
    count = has.sum(axis=0)
    mean = np.where(has, frac, 0.0).sum(axis=0) / np.maximum(count, 1)
    spread = np.where(has, (frac - mean) ** 2, 0.0).sum(axis=0) / np.maximum(count, 1)
    std: FloatArray = np.where(count > 2, np.sqrt(spread), 0.0)
    # Upstream's two-resource shortcut, |f1 - f2| / 2, bit for bit.
    pair = np.where(has, frac, -np.inf).max(axis=0) - np.where(has, frac, np.inf).min(axis=0)
    out: FloatArray = np.where(count == 2, np.abs(pair) / 2, std)
    return out
