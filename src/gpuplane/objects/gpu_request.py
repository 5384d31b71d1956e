"""The GPU request model: one shape for every way users ask for a GPU.

Users write GPU requests in several conventions. All of them become one `GpuRequest`:

* whole GPUs: `nvidia.com/gpu: 2` (exclusive devices),
* MIG instances: `nvidia.com/mig-1g.10gb: 1`,
* time-sliced or MPS replicas: `nvidia.com/gpu.shared: 1` (or a renamed resource),
* fractions of one GPU, as HAMi writes them (`nvidia.com/gpumem`, `nvidia.com/gpumem-percentage`,
  `nvidia.com/gpucores` beside `nvidia.com/gpu`) or as KAI writes them (the `gpu-fraction` and
  `gpu-memory` annotations).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from gpuplane.catalog.resources import GPU_SHARED

HAMI_GPUMEM = "nvidia.com/gpumem"
HAMI_GPUMEM_PERCENTAGE = "nvidia.com/gpumem-percentage"
HAMI_GPUCORES = "nvidia.com/gpucores"
KAI_GPU_FRACTION = "gpu-fraction"
KAI_GPU_MEMORY = "gpu-memory"

#: 1000 milli-GPU make one whole GPU (the brain's unit).
WHOLE_GPU_MILLI = 1000


class GpuKind(StrEnum):
    """How a pod asks for GPU: none, whole devices, a MIG slice, a shared replica, a fraction."""

    NONE = "none"
    WHOLE = "whole"
    MIG = "mig"
    SHARED = "shared"
    FRACTION = "fraction"


@dataclass(frozen=True)
class GpuRequest:
    """What one pod asks of GPUs, in the brain's units.

    `count` is the number of devices: GPUs, MIG instances or replicas; for a fraction, the
    number of GPUs the fraction is taken from (HAMi allows a 2 x 30% request). `milli` is the
    compute per device in milli-GPU (1000 for a whole GPU, 0 where only memory was named).
    `memory_mib` and `memory_percent` are the GPU memory per device when the user named it.
    """

    kind: GpuKind = GpuKind.NONE
    count: int = 0
    milli: int = 0
    memory_mib: int | None = None
    memory_percent: int | None = None
    mig_profile: str | None = None
    resource: str = ""

    @property
    def total_milli(self) -> int:
        """Compute asked for in all, in milli-GPU (MIG and replicas count as 0 here)."""
        return self.count * self.milli

    @property
    def wants_gpu(self) -> bool:
        return self.kind is not GpuKind.NONE and self.count > 0

    def describe(self) -> str:
        """A short human form: "2 GPU", "1 x mig-1g.10gb", "460m GPU + 6Gi"."""
        if not self.wants_gpu:
            return "-"
        if self.kind is GpuKind.WHOLE:
            return f"{self.count} GPU"
        if self.kind is GpuKind.MIG:
            return f"{self.count} x mig-{self.mig_profile}"
        if self.kind is GpuKind.SHARED:
            return f"{self.count} x {self.resource or GPU_SHARED}"
        parts = []
        if self.milli:
            parts.append(f"{self.milli}m GPU")
        if self.memory_mib is not None:
            parts.append(f"{self.memory_mib}Mi")
        if self.memory_percent is not None:
            parts.append(f"{self.memory_percent}% mem")
        each = " + ".join(parts) or "a share"
        return each if self.count == 1 else f"{self.count} x ({each})"


NO_GPU = GpuRequest()
