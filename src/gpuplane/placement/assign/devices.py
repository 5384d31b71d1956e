"""Picking advertised devices (whole GPUs, replicas, MIG instances, vGPUs) for a request.

The order follows what each mode is for:

* whole GPUs: lowest index first, as the device plugin lists them;
* replicas (time-slicing, MPS, vGPU): the replicas of one request go to different physical
  GPUs while it can be done, least-loaded GPU first, so tenants contend less; when a request
  asks for more replicas than there are GPUs with free replicas, several land on one GPU,
  and the assignment says so (users often expect N replicas to mean N GPUs);
* MIG instances: the GPU with the fewest free instances first (packs, keeping whole GPUs'
  worth of instances free), then the lowest start.
"""

from __future__ import annotations

from collections import Counter

from gpuplane.cluster.state import ClusterState
from gpuplane.placement.assign.assignment import Assignment
from gpuplane.sharing import Device, SharingKind

_REPLICATED = (SharingKind.TIME_SLICING, SharingKind.MPS, SharingKind.VGPU)


def pick_devices(state: ClusterState, node: int, resource: str, count: int) -> Assignment:
    """`count` free devices of `resource` on `node`; fewer only if fewer are free."""
    free = state.free_devices(node, resource)
    if not free or count <= 0:
        return Assignment()
    kinds = {d.kind for d in free}
    if kinds & set(_REPLICATED):
        chosen = _spread_replicas(free, count)
    elif SharingKind.MIG in kinds:
        per_gpu = Counter(d.gpu for d in free)
        chosen = sorted(free, key=lambda d: (per_gpu[d.gpu], d.gpu, d.mig_start or 0))[:count]
    else:
        chosen = free[:count]
    return Assignment.of_devices(chosen, notes=_shared_gpu_notes(chosen))


def _spread_replicas(free: list[Device], count: int) -> list[Device]:
    by_gpu: dict[int, list[Device]] = {}
    for device in free:
        by_gpu.setdefault(device.gpu, []).append(device)
    # Least-loaded GPU (most free replicas) first; ties by index. Round-robin over them.
    order = sorted(by_gpu, key=lambda g: (-len(by_gpu[g]), g))
    chosen: list[Device] = []
    while len(chosen) < count and any(by_gpu[g] for g in order):
        for g in order:
            if by_gpu[g] and len(chosen) < count:
                chosen.append(by_gpu[g].pop(0))
    return chosen


def _shared_gpu_notes(chosen: list[Device]) -> tuple[str, ...]:
    counts = Counter(d.gpu for d in chosen if d.replica is not None)
    return tuple(
        f"{n} replicas on GPU {g}: one physical GPU, not {n}"
        for g, n in sorted(counts.items())
        if n > 1
    )
