"""What LeastAllocated and MostAllocated share: per-resource allocatable and requested-after.

As in kube-scheduler, a resource the node has none of, or an extended resource the pod does
not ask for, is left out of both the score and the weight sum, and the final score is the
weighted mean of integer per-resource scores (0..100).
The arithmetic runs in float64, which is exact here: every operand is an integer far below
2**53 and the floor of a correctly rounded quotient of such integers is the integer quotient.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import numpy.typing as npt

from gpuplane.catalog.resources import GPU
from gpuplane.cluster.state import IntArray
from gpuplane.objects.pod import Pod
from gpuplane.placement.framework import Cycle

CPU, MEMORY = "cpu", "memory"

#: kube-scheduler's default for NodeResourcesFit scoring.
DEFAULT_WEIGHTS: Mapping[str, int] = {CPU: 1, MEMORY: 1}

FloatArray = npt.NDArray[np.float64]
PerResource = Callable[[FloatArray, FloatArray], FloatArray]


def allocatable_and_requested(cycle: Cycle, resource: str) -> tuple[IntArray, IntArray]:
    """(allocatable, requested after placing the pod) of one resource, at the cycle's rows."""
    state, pod, ix = cycle.state, cycle.pod, cycle.index()
    if resource == CPU:
        alloc = state.cpu_alloc[ix]
        return alloc, alloc - state.cpu_free[ix] + pod.cpu_milli
    if resource == MEMORY:
        # In bytes, as upstream: the same ratios as MiB for MiB-sized amounts, exact otherwise.
        alloc_bytes = state.mem_alloc_bytes[ix]
        return alloc_bytes, alloc_bytes - state.mem_free_bytes[ix] + pod.memory_request_bytes
    zero = np.zeros(cycle.size(), dtype=np.int64)
    if resource == GPU:
        # Like kube-scheduler, an extended resource the pod does not ask for drops out.
        if not pod.gpu.total_milli:
            return zero, zero
        # In milli-GPU, so that fractions weigh what they take.
        alloc = state.gpu_count[ix] * 1000
        return alloc, alloc - state.gpu_free_node[ix] + pod.gpu.total_milli
    col = state.ext_col.get(resource)
    if col is None or not pod.extended.get(resource):
        return zero, zero
    alloc = state.ext_alloc[ix, col]
    return alloc, alloc - state.ext_free[ix, col] + int(pod.extended.get(resource, 0))


def pod_request(pod: Pod, resource: str) -> int:
    """What the pod asks of one resource, in the units `allocatable_and_requested` uses."""
    if resource == CPU:
        return pod.cpu_milli
    if resource == MEMORY:
        return pod.memory_request_bytes
    if resource == GPU:
        return pod.gpu.total_milli
    return int(pod.extended.get(resource, 0))


def weighted_score(cycle: Cycle, weights: Mapping[str, int], per_resource: PerResource) -> IntArray:
    n = cycle.size()
    total = np.zeros(n, dtype=np.float64)
    weight_sum = np.zeros(n, dtype=np.float64)
    for resource, weight in weights.items():
        alloc, requested = allocatable_and_requested(cycle, resource)
        has = alloc > 0
        # Nodes without the resource get a dummy denominator; `has` drops their term below.
        score = np.floor(per_resource(requested.astype(np.float64), np.where(has, alloc, 1.0)))
        total += score * weight * has
        weight_sum += weight * has
    result: IntArray = np.floor(total / np.maximum(weight_sum, 1.0)).astype(np.int64)
    return result
