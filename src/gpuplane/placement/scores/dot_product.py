"""DotProd: Tetris-style alignment between what the task asks and what the node has free.

The FGD paper's DotProd baseline with its settings (GPU dimensions merged, normalised by the
largest node): the node's vector is (free CPU / 128 cores, free GPU share summed over its GPUs
/ 8 GPUs), the task's is (CPU request / 128 cores, total GPU request / 8 GPUs). The score is
floor(100 * (1 - dot / 2)), so the node whose free resources point least along the task's
demand wins: the task goes where it leaves the least behind in its own direction. GPUs are
assigned by the default rule (fullest GPU that fits; lowest free indices for whole GPUs).
"""

from __future__ import annotations

import numpy as np

from gpuplane.cluster.state import IntArray
from gpuplane.placement.fragmentation import gpu_share
from gpuplane.placement.framework import MAX_NODE_SCORE, Cycle

#: The largest node the normalisation assumes (the openb trace's biggest: 128 cores, 8 GPUs).
MAX_CPU_MILLI = 128_000
MAX_GPU_MILLI = 8_000


class DotProductScore:
    name = "DotProduct"

    def score(self, cycle: Cycle) -> IntArray:
        state, pod = cycle.state, cycle.pod
        milli, count = gpu_share(pod.gpu)
        gpu_request = milli * count
        # Same operation order as the reference implementation, so scores match it exactly.
        dot = (state.cpu_free / MAX_CPU_MILLI) * (pod.cpu_milli / MAX_CPU_MILLI) + (
            state.gpu_free_node / MAX_GPU_MILLI
        ) * (gpu_request / MAX_GPU_MILLI)
        value = 1.0 - dot / 2.0
        out: IntArray = np.where(
            state.cpu_free < pod.cpu_milli, 0, (MAX_NODE_SCORE * value).astype(np.int64)
        )
        return out
