"""What this node advertises: its inventory and sharing config turned into kubelet devices.

The devices come from `gpuplane.sharing.node_devices`, the function the scheduler uses to
decide what a node offers, fed with what the backend found (the GPU model, its
memory, the MIG instances that exist and where they sit). Each such device gets the ID the
kubelet will know it by, as the NVIDIA device plugin names them:

* a whole GPU: its UUID (GPU-...),
* a time-slicing or MPS replica: "<GPU UUID>::<replica>",
* a MIG device: its MIG UUID (MIG-...),
* a split device of a fractional GPU: "<GPU UUID>::<index>", its split count of them per GPU
  (`gpuplane.sharing.kubelet_devices`).

Whether the GPUs are fractional is the Node's labels' to say (gpuplane.io/sharing and
gpuplane.io/device-split-count, the labels the scheduler reads), not the device plugin
config's: the agent reads them from its Node when it has API access.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from gpuplane.catalog import GpuModel, lookup
from gpuplane.errors import InputError, ManifestError
from gpuplane.node.backend import BackendError, Gpu, Inventory, MigDevice
from gpuplane.sharing import (
    REPLICA_SEPARATOR,
    Device,
    DevicePluginConfig,
    GpuSharing,
    MigLayout,
    NodeSharing,
    SharingKind,
    advertised,
    kubelet_devices,
    node_devices,
    resolve_uuids,
    sanitise,
    sharing_from_device_plugin_config,
    with_mig_gpus,
)

#: GFD's nvidia.com/gpu.family by CUDA compute capability, for GPUs the catalog lacks.
_FAMILIES = {
    6: "pascal",
    7: "volta",
    8: "ampere",
    9: "hopper",
    10: "blackwell",
    12: "blackwell",
}


@dataclass(frozen=True)
class PluginDevice:
    """One device as the kubelet sees it, with what is needed to hand it to a container."""

    id: str
    device: Device
    gpu: Gpu
    mig: MigDevice | None = None

    @property
    def resource(self) -> str:
        return self.device.resource

    @property
    def uuid(self) -> str:
        """The UUID a container is given: the MIG device's, else the GPU's."""
        return self.mig.uuid if self.mig else self.gpu.uuid

    @property
    def replica(self) -> int | None:
        return self.device.replica

    @property
    def numa_node(self) -> int | None:
        return self.gpu.numa_node


@dataclass(frozen=True)
class NodePlan:
    """The node as the agent serves it: model, sharing, and every device by resource."""

    inventory: Inventory
    #: The catalog's model with what the node reports for its name and memory.
    model: GpuModel
    sharing: NodeSharing
    devices: tuple[PluginDevice, ...]

    def resources(self) -> dict[str, list[PluginDevice]]:
        """Resource name -> its devices, resources sorted by name, devices in node order."""
        out: dict[str, list[PluginDevice]] = {}
        for device in self.devices:
            out.setdefault(device.resource, []).append(device)
        return dict(sorted(out.items()))

    def advertised(self) -> dict[str, int]:
        """What the node's allocatable would list for these resources, sorted by name."""
        return dict(sorted(advertised([d.device for d in self.devices]).items()))


def plan_node(
    inventory: Inventory,
    config: DevicePluginConfig | None = None,
    fractional: GpuSharing | None = None,
) -> NodePlan:
    """The devices this node advertises; InputError when the node cannot be served as asked.

    `fractional` is the fractional sharing the Node's labels ask for (None: not fractional).
    """
    model = node_model(inventory)
    sharing, layouts = node_sharing(inventory, model, config)
    if fractional is not None:
        sharing = _fractional(sharing, fractional)
    count = len(inventory.gpus)
    devices = node_devices(sharing, count, model, model.memory_mib, layouts)
    devices = kubelet_devices(devices, sharing)
    return NodePlan(inventory, model, sharing, tuple(_plugin_device(d, inventory) for d in devices))


def _fractional(sharing: NodeSharing, fractional: GpuSharing) -> NodeSharing:
    """The node's GPUs shared by fraction, refused where the config or MIG already shares them."""
    taken = {sharing.default.kind} | {g.kind for g in sharing.per_gpu.values()}
    if taken != {SharingKind.EXCLUSIVE}:
        kinds = ", ".join(sorted(k.value for k in taken - {SharingKind.EXCLUSIVE}))
        raise InputError(
            f"the Node's labels ask for fractional GPUs, but its GPUs are already shared ({kinds})",
            hint="remove gpuplane.io/sharing from the Node, or the sharing from the device "
            "plugin config and MIG mode from its GPUs",
        )
    return NodeSharing(fractional, mig_strategy=sharing.mig_strategy)


def node_model(inventory: Inventory) -> GpuModel:
    """The node's GPU model: the catalog's, with the name and memory the driver reports.

    GFD labels the product and memory as NVML reports them, and the scheduler reads those
    labels; the agent builds its devices from the same values so that both agree. A model
    the catalog lacks is described from what the driver says, without MIG geometry.
    """
    names = {gpu.name for gpu in inventory.gpus}
    if len(names) > 1:
        raise BackendError(
            f"this node mixes GPU models ({', '.join(sorted(names))}); gpuplane serves nodes "
            "with one GPU model",
            hint="group GPUs of one model per node",
        )
    first = inventory.gpus[0]
    memory = min(gpu.memory_mib for gpu in inventory.gpus)
    try:
        model = lookup(first.name)
    except InputError:
        if any(gpu.mig_enabled for gpu in inventory.gpus):
            raise BackendError(
                f"{first.name} has MIG enabled but the catalog does not know its MIG geometry",
                hint="add the model to gpuplane/catalog/gpus.yaml",
            ) from None
        major, _ = first.compute_capability
        return GpuModel(
            product=sanitise(first.name),
            memory_mib=memory,
            family=_FAMILIES.get(major, "unknown"),
            compute_capability=first.compute_capability,
            mig_capable=first.mig_capable,
            mig_memory_slices=0,
            mig_compute_slices=0,
            mig_profiles=(),
            aliases=(),
            max_mps_clients=48 if major >= 7 else 16,
            timeslicing_supported=True,
        )
    return replace(model, product=sanitise(first.name), memory_mib=memory)


def node_sharing(
    inventory: Inventory, model: GpuModel, config: DevicePluginConfig | None
) -> tuple[NodeSharing, dict[int, MigLayout]]:
    """The node's sharing under `config`, with the MIG layout each MIG-enabled GPU has now.

    The config decides the MIG strategy and which whole GPUs are replicated; the driver
    decides which GPUs are in MIG mode and with which instances (`with_mig_gpus`, which
    refuses what the scheduler refuses).
    """
    count = len(inventory.gpus)
    base = NodeSharing()
    if config is not None:
        uuids = {gpu.uuid: gpu.index for gpu in inventory.gpus}
        try:
            base = sharing_from_device_plugin_config(resolve_uuids(config, uuids), count, model)
        except ManifestError as exc:
            exc.where = None  # the config's place within a ConfigMap says nothing here
            raise
    layouts = {
        gpu.index: tuple((m.profile, m.start) for m in gpu.mig_devices)
        for gpu in inventory.gpus
        if gpu.mig_enabled
    }
    try:
        sharing = with_mig_gpus(base, layouts, count)
    except InputError as exc:
        raise BackendError(exc.message, hint=exc.hint) from None
    return sharing, layouts


def _plugin_device(device: Device, inventory: Inventory) -> PluginDevice:
    gpu = inventory.gpus[device.gpu]
    if device.kind is SharingKind.MIG:
        mig = _mig_at(gpu, device.mig_profile, device.mig_start)
        return PluginDevice(mig.uuid, device, gpu, mig)
    if device.replica is not None:
        return PluginDevice(f"{gpu.uuid}{REPLICA_SEPARATOR}{device.replica}", device, gpu)
    return PluginDevice(gpu.uuid, device, gpu)


def _mig_at(gpu: Gpu, profile: str | None, start: int | None) -> MigDevice:
    for mig in gpu.mig_devices:
        if mig.profile == profile and mig.start == start:
            return mig
    # node_devices was fed these very layouts; a miss is a programming error.
    raise ValueError(f"GPU {gpu.index} has no MIG device {profile} at slice {start}")
