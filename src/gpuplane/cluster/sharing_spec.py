"""The `sharing` part of a node pool in the cluster spec, and the NodeSharing it means.

    sharing:                       # all GPUs of the pool
      mode: time-slicing           # exclusive | time-slicing | mps | mig | fractional | vgpu
      replicas: 4                  # time-slicing, mps
      renameByDefault: false       # advertise replicas as nvidia.com/gpu.shared
      failRequestsGreaterThanOne: false
    gpuSharing:                    # some GPUs set apart, by index
      - gpus: [6, 7]
        mode: mig
        migLayout: all-1g.10gb     # mig-parted's names, a list of profiles, or mig-parted's
                                   # mig-devices mapping ({1g.10gb: 2, 2g.20gb: 1})
    # mig options: migStrategy (single | mixed, default mixed), dynamicMig (default false)
    # fractional:  gpuSchedulerPolicy (binpack | spread)
    # vgpu:        vgpuType, e.g. GRID_A100-4C (4 GB per vGPU, advertised as nvidia.com/<type>)

Defaults follow the device plugin: time-slicing does not refuse multi-replica requests, MPS
does; renameByDefault is off.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from pydantic import Field, model_validator

from gpuplane.catalog import GpuModel, fits_together
from gpuplane.catalog.mig import layout_from_counts, named_layout
from gpuplane.catalog.resources import GPU, GPU_SHARED
from gpuplane.cluster.spec_base import Model, checked
from gpuplane.limits import MAX_REPLICAS
from gpuplane.sharing import (
    DEFAULT_SPLIT_COUNT,
    MAX_SPLIT_COUNT,
    FractionPolicy,
    GpuSharing,
    MigStrategy,
    NodeSharing,
    SharingKind,
)

_VGPU_TYPE = re.compile(r"^[A-Za-z0-9_]+-(\d+)[A-Z]$")
_REPLICATED = (SharingKind.TIME_SLICING, SharingKind.MPS)


class SharingSpec(Model):
    mode: SharingKind = SharingKind.EXCLUSIVE
    replicas: int | None = Field(default=None, ge=1, le=MAX_REPLICAS)
    rename_by_default: bool = False
    rename: str | None = Field(default=None, pattern=r"^[a-z0-9.-]+/[a-zA-Z0-9._-]+$")
    fail_requests_greater_than_one: bool | None = None
    mig_strategy: MigStrategy = MigStrategy.MIXED
    mig_layout: str | list[str] | dict[str, int] | None = None
    dynamic_mig: bool = False
    gpu_scheduler_policy: FractionPolicy = FractionPolicy.BINPACK
    #: Devices each fractional GPU is advertised as: at most this many pods share one GPU.
    device_split_count: int | None = Field(default=None, ge=1, le=MAX_SPLIT_COUNT)
    vgpu_type: str | None = None
    #: Only in gpuSharing entries: the GPU indices this entry applies to.
    gpus: list[int] | None = None

    @model_validator(mode="after")
    def _fields_match_mode(self) -> SharingSpec:
        mode = self.mode
        if mode in _REPLICATED:
            if self.replicas is None:
                raise ValueError(f"{mode} needs replicas (how many pods share each GPU)")
            if self.replicas < 2:
                raise ValueError(f"{mode} needs at least 2 replicas, as the device plugin does")
        elif self.replicas is not None:
            raise ValueError(f"replicas applies to time-slicing and mps, not {mode}")
        if self.rename is not None:
            raise ValueError(
                "the device plugin ignores rename (it clears it on loading a config); "
                "use renameByDefault: true for nvidia.com/gpu.shared"
            )
        if mode is SharingKind.MIG and self.mig_layout is None and not self.dynamic_mig:
            raise ValueError("mig needs a migLayout (e.g. all-1g.10gb) or dynamicMig: true")
        if mode is not SharingKind.MIG and (self.mig_layout is not None or self.dynamic_mig):
            raise ValueError(f"migLayout and dynamicMig apply to mig, not {mode}")
        if mode is not SharingKind.FRACTIONAL and self.device_split_count is not None:
            raise ValueError(f"deviceSplitCount applies to fractional, not {mode}")
        if mode is SharingKind.VGPU:
            if self.vgpu_type is None or not _VGPU_TYPE.match(self.vgpu_type):
                raise ValueError("vgpu needs a vgpuType such as GRID_A100-4C (4 GB per vGPU)")
        elif self.vgpu_type is not None:
            raise ValueError(f"vgpuType applies to vgpu, not {mode}")
        return self


def _layout(spec: SharingSpec, model: GpuModel) -> tuple[str, ...]:
    layout = spec.mig_layout
    if layout is None:
        return ()
    if isinstance(layout, dict):
        names: Sequence[str] = checked(lambda c: layout_from_counts(model, c), layout)
    elif isinstance(layout, str):
        names = checked(lambda n: named_layout(model, n), layout)
    else:
        names = layout
    profiles = tuple(checked(model.mig_profile, name).name for name in names)
    if not fits_together(model, profiles):
        raise ValueError(
            f"MIG layout {list(profiles)} does not fit one {model.product}: "
            "the hardware allows no such combination"
        )
    return profiles


def gpu_sharing(spec: SharingSpec, model: GpuModel) -> GpuSharing:
    """One GPU's sharing from a spec entry, checked against what the model can do."""
    mode = spec.mode
    if mode is SharingKind.MIG and not model.mig_capable:
        raise ValueError(f"{model.product} is not MIG-capable")
    if mode in _REPLICATED and not model.timeslicing_supported:
        raise ValueError(f"{model.product} does not support {mode}")
    if mode is SharingKind.MPS and (spec.replicas or 0) > model.max_mps_clients:
        raise ValueError(f"{model.product} allows at most {model.max_mps_clients} MPS clients")
    resource = GPU
    if spec.rename_by_default and mode in _REPLICATED:
        resource = GPU_SHARED
    vgpu_memory = 0
    if mode is SharingKind.VGPU and spec.vgpu_type:
        match = _VGPU_TYPE.match(spec.vgpu_type)
        assert match is not None  # checked by the model validator
        vgpu_memory = int(match.group(1)) * 1024
        if vgpu_memory > model.memory_mib:
            raise ValueError(f"vGPU type {spec.vgpu_type} is larger than a {model.product}")
        resource = f"nvidia.com/{spec.vgpu_type}"
    fail_gt1 = spec.fail_requests_greater_than_one
    return GpuSharing(
        kind=mode,
        replicas=spec.replicas or 1,
        resource=resource,
        fail_requests_greater_than_one=(mode is SharingKind.MPS) if fail_gt1 is None else fail_gt1,
        mig_layout=_layout(spec, model) if mode is SharingKind.MIG else (),
        fraction_policy=spec.gpu_scheduler_policy,
        split_count=spec.device_split_count or DEFAULT_SPLIT_COUNT,
        vgpu_memory_mib=vgpu_memory,
    )


def node_sharing(
    default: SharingSpec | None,
    overrides: list[SharingSpec],
    model: GpuModel,
    gpu_count: int,
) -> NodeSharing:
    """A pool's NodeSharing; raises ValueError naming what the hardware or plugin forbids."""
    base = default or SharingSpec()
    if base.gpus is not None:
        raise ValueError("gpus belongs in gpuSharing entries, not in sharing")
    per_gpu: dict[int, GpuSharing] = {}
    for entry in overrides:
        if not entry.gpus:
            raise ValueError("each gpuSharing entry needs gpus: the GPU indices it covers")
        for index in entry.gpus:
            if not 0 <= index < gpu_count:
                raise ValueError(f"GPU index {index} is outside 0..{gpu_count - 1}")
            if index in per_gpu:
                raise ValueError(f"GPU {index} appears in two gpuSharing entries")
            per_gpu[index] = gpu_sharing(entry, model)
    specs = [base, *overrides]
    mig = [s for s in specs if s.mode is SharingKind.MIG]
    strategies = {s.mig_strategy for s in mig}
    if len(strategies) > 1:
        raise ValueError("one node has one migStrategy (it is a device plugin flag)")
    strategy = strategies.pop() if strategies else MigStrategy.NONE
    sharing = NodeSharing(
        default=gpu_sharing(base, model),
        per_gpu=per_gpu,
        mig_strategy=strategy,
        dynamic_mig=any(s.dynamic_mig for s in mig),
    )
    if strategy is MigStrategy.SINGLE:
        _check_single(sharing, gpu_count)
    return sharing


def _check_single(sharing: NodeSharing, gpu_count: int) -> None:
    # The single strategy advertises every MIG device as nvidia.com/gpu, so they must all be
    # alike and no whole GPU may sit beside them (the device plugin refuses such nodes).
    layouts = {sharing.for_gpu(g).mig_layout for g in range(gpu_count)}
    kinds = sharing.kinds(gpu_count)
    profiles = {p for layout in layouts for p in layout}
    if kinds != {SharingKind.MIG} or len(profiles) > 1 or sharing.dynamic_mig:
        raise ValueError(
            "migStrategy single needs every GPU in MIG mode with one profile (e.g. all-1g.10gb) "
            "and no dynamicMig; use mixed for anything else"
        )
