"""The devices a node advertises under its sharing mode, exactly as the NVIDIA device plugin would.

A device is what the kubelet hands to a container: a whole GPU, a time-slicing or MPS replica
of one, a MIG instance, or a vGPU. Each belongs to one extended resource (nvidia.com/gpu, a
renamed nvidia.com/gpu.shared, nvidia.com/mig-1g.10gb.me, ...), sits on one physical GPU, and
takes a nominal share of that GPU's compute (milli-GPU) and memory (MiB) while in use:

* a whole GPU takes all of it,
* a replica of a GPU cut into r takes 1000 // r milli-GPU and memory // r (MPS enforces that
  share; time-slicing does not, but the share is what each tenant can count on),
* a MIG instance takes its compute slices' share of the GPU and its profile's memory,
* a vGPU takes its profile's memory and an equal time share.

The same function serves the scheduler (what it may place, `gpuplane.cluster`) and the node
agent (what it advertises, `gpuplane.node`), so the two can never disagree.

A fractional GPU is one device to the scheduler (a whole-GPU pod takes it, and only while no
fraction is on the GPU) but `split_count` devices to the kubelet (`kubelet_devices`), as HAMi
advertises them: the kubelet hands each pod on the GPU, fraction or whole, one of them, and
admits no more pods asking nvidia.com/gpu than the node advertises. The scheduler counts the
split devices a GPU has left (`ClusterState.gpu_free_split`) so that it never places more.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from gpuplane.catalog import GpuModel, pack
from gpuplane.catalog.resources import GPU
from gpuplane.catalog.resources import mig_resource as _mixed_resource
from gpuplane.sharing.modes import GpuSharing, MigStrategy, NodeSharing, SharingKind

WHOLE_MILLI = 1000
#: Between a device's id and the index of a replica or split device cut from it.
REPLICA_SEPARATOR = "::"

#: A MIG GPU's instances as (profile, first memory slice), in the order they were made.
MigLayout = tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class Device:
    """One advertised device; `id` is unique on its node."""

    id: str
    resource: str
    gpu: int
    kind: SharingKind
    milli: int
    memory_mib: int
    replica: int | None = None
    mig_profile: str | None = None
    mig_start: int | None = None
    #: For a split device of a fractional GPU: the scheduler's device it is cut from.
    split_of: str | None = None

    @property
    def scheduler_id(self) -> str:
        """The id the scheduler names this device by in a pod's assignment."""
        return self.split_of or self.id


def mig_resource(profile: str, strategy: MigStrategy) -> str:
    """The resource a MIG instance is advertised as under the device plugin's strategy."""
    return GPU if strategy is MigStrategy.SINGLE else _mixed_resource(profile)


def gpu_devices(
    gpu: int,
    sharing: GpuSharing,
    model: GpuModel | None,
    memory_mib: int,
    strategy: MigStrategy,
    layout: MigLayout = (),
) -> list[Device]:
    """The devices of one GPU. `layout` is the GPU's MIG instances as (profile, start)."""
    kind = sharing.kind
    if kind in (SharingKind.EXCLUSIVE, SharingKind.FRACTIONAL):
        # A fractional GPU is still advertised whole; it is free only while nothing is on it.
        return [Device(f"gpu{gpu}", sharing.resource, gpu, kind, WHOLE_MILLI, memory_mib)]
    if kind is SharingKind.MIG:
        if model is None or strategy is MigStrategy.NONE:
            return []
        out = []
        for profile_name, start in layout:
            profile = model.mig_profile(profile_name)
            milli = WHOLE_MILLI * profile.compute_slices // model.mig_compute_slices
            out.append(
                Device(
                    f"gpu{gpu}/mig-{profile.name}@{start}",
                    mig_resource(profile.name, strategy),
                    gpu,
                    kind,
                    milli,
                    profile.memory_mib,
                    mig_profile=profile.name,
                    mig_start=start,
                )
            )
        return out
    replicas = replica_count(sharing, memory_mib)
    each = memory_mib // replicas if kind is not SharingKind.VGPU else sharing.vgpu_memory_mib
    milli = WHOLE_MILLI // replicas
    return [
        Device(f"gpu{gpu}{REPLICA_SEPARATOR}{k}", sharing.resource, gpu, kind, milli, each, k)
        for k in range(replicas)
    ]


def replica_count(sharing: GpuSharing, memory_mib: int) -> int:
    """Devices per GPU for replicated modes; a vGPU profile fits memory // profile times."""
    if sharing.kind is SharingKind.VGPU:
        return max(1, memory_mib // max(1, sharing.vgpu_memory_mib))
    return max(1, sharing.replicas)


def initial_layout(model: GpuModel | None, sharing: GpuSharing) -> MigLayout:
    """The MIG instances a GPU starts with: its configured layout, packed validly."""
    if sharing.kind is not SharingKind.MIG or model is None or not sharing.mig_layout:
        return ()
    packed = pack(model, sharing.mig_layout)
    if packed is None:
        # The spec validation refuses such layouts; reaching here is a programming error.
        raise ValueError(f"MIG layout {list(sharing.mig_layout)} does not fit a {model.product}")
    return tuple(packed)


def node_devices(
    sharing: NodeSharing,
    gpu_count: int,
    model: GpuModel | None,
    memory_mib: int,
    layouts: Mapping[int, MigLayout] | None = None,
) -> list[Device]:
    """Every device of a node, GPU by GPU; `layouts` overrides the MIG layout of some GPUs."""
    out: list[Device] = []
    for gpu in range(gpu_count):
        gpu_sharing = sharing.for_gpu(gpu)
        layout = (layouts or {}).get(gpu)
        if layout is None:
            layout = initial_layout(model, gpu_sharing)
        out += gpu_devices(gpu, gpu_sharing, model, memory_mib, sharing.mig_strategy, layout)
    return out


def kubelet_devices(devices: Iterable[Device], sharing: NodeSharing) -> list[Device]:
    """The devices as the kubelet counts them: each fractional GPU cut into its split count."""
    out: list[Device] = []
    for device in devices:
        if device.kind is not SharingKind.FRACTIONAL:
            out.append(device)
            continue
        for k in range(sharing.for_gpu(device.gpu).split_count):
            split_id = f"{device.id}{REPLICA_SEPARATOR}{k}"
            out.append(replace(device, id=split_id, replica=k, split_of=device.id))
    return out


def advertised(devices: list[Device]) -> dict[str, int]:
    """Extended resource -> device count: what the node's status.allocatable would list."""
    counts: dict[str, int] = {}
    for device in devices:
        counts[device.resource] = counts.get(device.resource, 0) + 1
    return counts
