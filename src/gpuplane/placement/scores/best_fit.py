"""BestFit: the node that the task leaves with the least free CPU and GPU.

The FGD paper's BestFit baseline: the leftover after placement, weighted half CPU (over 128
cores) and half GPU (free share summed over the node's GPUs, over 8 GPUs), and the score is
floor(100 * (1 - leftover)). The reference implementation then stretches the scores of the
feasible nodes to 0..100 (min-max); that keeps their order and their ties, so it is left out.
GPUs are assigned by the default rule (fullest GPU that fits; lowest free indices).
"""

from __future__ import annotations

import numpy as np

from gpuplane.cluster.state import IntArray
from gpuplane.placement.fragmentation import gpu_share
from gpuplane.placement.framework import MAX_NODE_SCORE, Cycle
from gpuplane.placement.scores.dot_product import MAX_CPU_MILLI, MAX_GPU_MILLI

CPU_WEIGHT = GPU_WEIGHT = 0.5


class BestFitScore:
    name = "BestFit"

    def score(self, cycle: Cycle) -> IntArray:
        state, pod = cycle.state, cycle.pod
        milli, count = gpu_share(pod.gpu)
        cpu_left = (state.cpu_free - pod.cpu_milli) / MAX_CPU_MILLI * CPU_WEIGHT
        gpu_left = (state.gpu_free_node - milli * count) / MAX_GPU_MILLI
        leftover = 0.0 + cpu_left + gpu_left * GPU_WEIGHT
        # astype truncates toward zero, as the reference's int64() conversion does.
        out: IntArray = ((1.0 - leftover) * MAX_NODE_SCORE).astype(np.int64)
        return out
