"""Which GPUs of which nodes can take a pod's GPU request, and which ones it gets.

Per-GPU rules (the brain's units: milli-GPU and MiB):

* A whole GPU needs a GPU with nothing on it: all 1000 milli-GPU and all its memory free.
* A fraction needs `milli` free compute and its memory free on each of `count` GPUs. Memory is
  what the user named (MiB or percent); when only compute was named, the fraction takes the
  same fraction of the GPU's memory, so that neither can be oversubscribed by the other's pods.
* MIG instances and shared replicas are, until a node has a sharing mode, counted like any other
  extended resource the node advertises.

Unhealthy GPUs take no new work. Device choice packs: among the GPUs that fit, a fraction goes
to the fullest one (leaving whole GPUs whole); whole GPUs are taken lowest index first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gpuplane.cluster.state import BoolArray, ClusterState, IntArray
from gpuplane.objects.gpu_request import GPU, GpuKind, GpuRequest


@dataclass
class GpuFit:
    """The GPU side of one pod's scheduling cycle, computed lazily once per cycle."""

    request: GpuRequest
    state: ClusterState
    _usable: BoolArray | None = None
    _need_mem: IntArray | None = None

    @property
    def per_gpu(self) -> bool:
        """True when the request is placed on concrete GPUs (whole or fraction)."""
        return self.request.wants_gpu and self.request.kind in (GpuKind.WHOLE, GpuKind.FRACTION)

    def need_memory(self) -> IntArray:
        """GPU memory (MiB) the request needs on each GPU slot, as a (nodes, slots) array."""
        if self._need_mem is None:
            req, total = self.request, self.state.gpu_mem_total
            if req.kind is GpuKind.WHOLE:
                need = total
            elif req.memory_mib is not None:
                need = np.full_like(total, req.memory_mib)
            elif req.memory_percent is not None:
                need = -((-total * req.memory_percent) // 100)
            else:
                need = -((-total * req.milli) // 1000)
            self._need_mem = need
        return self._need_mem

    def usable(self) -> BoolArray:
        """(nodes, slots): GPUs that can take one device's share of the request."""
        if self._usable is None:
            s, req = self.state, self.request
            milli = 1000 if req.kind is GpuKind.WHOLE else req.milli
            self._usable = (
                s.gpu_healthy & (s.gpu_free_milli >= milli) & (s.gpu_free_mem >= self.need_memory())
            )
        return self._usable

    def failures(self) -> list[tuple[str, BoolArray]]:
        """(reason, failing-node mask) for the GPU part of NodeResourcesFit."""
        req, s = self.request, self.state
        if not req.wants_gpu:
            return []
        if not self.per_gpu:
            resource = req.resource
            col = s.ext_col.get(resource)
            free = s.ext_free[:, col] if col is not None else np.zeros(len(s), dtype=np.int64)
            return [(f"Insufficient {resource}", free < req.count)]
        if req.kind is GpuKind.WHOLE:
            return [(f"Insufficient {GPU}", s.gpu_idle_count < req.count)]
        fits = self.usable().sum(axis=1) >= req.count
        # A fraction: say which of compute or memory is short, the way HAMi users read it.
        compute_ok = (s.gpu_healthy & (s.gpu_free_milli >= req.milli)).sum(axis=1) >= req.count
        short_compute = ~fits & ~compute_ok
        return [
            ("Insufficient GPU compute share", short_compute),
            ("Insufficient GPU memory", ~fits & compute_ok),
        ]

    def choose(self, node: int) -> list[tuple[int, int, int]]:
        """(gpu index, milli, memory MiB) for each device the pod gets on `node`."""
        req = self.request
        if not self.per_gpu:
            return []
        if req.kind is GpuKind.WHOLE:
            chosen = self.state.idle_gpus(node)[: req.count]
            milli = 1000
        else:
            usable = np.flatnonzero(self.usable()[node])
            # Fullest GPU first (least free compute), ties by index: packs fractions together.
            free = self.state.gpu_free_milli[node, usable]
            chosen = usable[np.lexsort((usable, free))][: req.count]
            milli = req.milli
        need = self.need_memory()[node]
        return [(int(g), milli, int(need[g])) for g in chosen]

    def extended_taken(self) -> dict[str, int]:
        """Extended resources the GPU request takes when it is not placed per GPU."""
        req = self.request
        if req.wants_gpu and not self.per_gpu:
            return {req.resource: req.count}
        return {}
