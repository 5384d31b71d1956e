"""What this node advertises: its inventory and sharing config turned into kubelet devices.

The devices come from `gpuplane.cluster.devices.node_devices`, the function the scheduler
uses to decide what a node offers, fed with what the backend found (the GPU model, its
memory, the MIG instances that exist and where they sit). Each such device gets the ID the
kubelet will know it by, as the NVIDIA device plugin names them:

* a whole GPU: its UUID (GPU-...),
* a time-slicing or MPS replica: "<GPU UUID>::<replica>",
* a MIG device: its MIG UUID (MIG-...).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from gpuplane.catalog import GpuModel, lookup
from gpuplane.catalog.labels import sanitise
from gpuplane.cluster.devices import Device, node_devices
from gpuplane.errors import InputError, ManifestError
from gpuplane.node.backend import BackendError, Gpu, Inventory, MigDevice
from gpuplane.node.config import resolve_uuids
from gpuplane.objects.device_plugin_config import DevicePluginConfig
from gpuplane.objects.read_sharing import sharing_from_device_plugin_config
from gpuplane.objects.sharing import GpuSharing, MigStrategy, NodeSharing, SharingKind

#: GFD's nvidia.com/gpu.family by CUDA compute capability, for GPUs the catalog lacks.
_FAMILIES = {
    6: "pascal",
    7: "volta",
    8: "ampere",
    9: "hopper",
    10: "blackwell",
    12: "blackwell",
}
REPLICA_SEPARATOR = "::"


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
        """What the node's allocatable would list for these resources."""
        return {name: len(devices) for name, devices in self.resources().items()}


def plan_node(inventory: Inventory, config: DevicePluginConfig | None = None) -> NodePlan:
    """The devices this node advertises; InputError when the node cannot be served as asked."""
    model = node_model(inventory)
    sharing, layouts = node_sharing(inventory, model, config)
    count = len(inventory.gpus)
    devices = node_devices(sharing, count, model, model.memory_mib, layouts)
    return NodePlan(inventory, model, sharing, tuple(_plugin_device(d, inventory) for d in devices))


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
) -> tuple[NodeSharing, dict[int, tuple[tuple[str, int], ...]]]:
    """The node's sharing under `config`, with the MIG layout each MIG-enabled GPU has now.

    The config decides the MIG strategy and which whole GPUs are replicated; the driver
    decides which GPUs are in MIG mode and with which instances (mig-manager's business, not
    the plugin's). Replicating MIG devices and MPS on MIG GPUs are refused, as the scheduler
    refuses them.
    """
    count = len(inventory.gpus)
    base = NodeSharing()
    if config is not None:
        try:
            base = sharing_from_device_plugin_config(resolve_uuids(config, inventory), count, model)
        except ManifestError as exc:
            exc.where = None  # the config's place within a ConfigMap says nothing here
            raise
    per_gpu: dict[int, GpuSharing] = {}
    layouts: dict[int, tuple[tuple[str, int], ...]] = {}
    for gpu in inventory.gpus:
        if gpu.mig_enabled:
            profiles = tuple(m.profile for m in gpu.mig_devices)
            per_gpu[gpu.index] = GpuSharing(kind=SharingKind.MIG, mig_layout=profiles)
            layouts[gpu.index] = tuple((m.profile, m.start) for m in gpu.mig_devices)
        elif gpu.index in base.per_gpu:
            per_gpu[gpu.index] = base.per_gpu[gpu.index]
    sharing = NodeSharing(default=base.default, per_gpu=per_gpu, mig_strategy=base.mig_strategy)
    if layouts:
        _check_mig(inventory, sharing)
    return sharing, layouts


def _check_mig(inventory: Inventory, sharing: NodeSharing) -> None:
    mig_gpus = [g for g in inventory.gpus if g.mig_enabled]
    whole = [g for g in inventory.gpus if not g.mig_enabled]
    replicated = [g for g in whole if sharing.for_gpu(g.index).replicated]
    if sharing.mig_strategy is MigStrategy.SINGLE:
        profiles = {m.profile for g in mig_gpus for m in g.mig_devices}
        if whole or len(profiles) != 1 or any(not g.mig_devices for g in mig_gpus):
            raise BackendError(
                "migStrategy single needs every GPU in MIG mode with devices of one profile; "
                f"found {_describe_mig(inventory)}",
                hint="use migStrategy mixed, or give every GPU the same MIG layout",
            )
        if sharing.default.replicated:
            # Under single the MIG devices are nvidia.com/gpu, so the config would replicate them.
            raise BackendError(
                "replicas of MIG devices (nvidia.com/gpu under migStrategy single) are not "
                "supported yet",
                hint="drop the sharing section, or use migStrategy mixed",
            )
    if sharing.default.kind is SharingKind.MPS or any(
        sharing.for_gpu(g.index).kind is SharingKind.MPS for g in replicated
    ):
        raise BackendError(
            "MPS does not share MIG devices, and this node has GPUs in MIG mode",
            hint="share the whole GPUs with timeSlicing, or turn MIG off",
        )


def _describe_mig(inventory: Inventory) -> str:
    parts = []
    for gpu in inventory.gpus:
        if not gpu.mig_enabled:
            parts.append(f"GPU {gpu.index}: MIG off")
        else:
            layout = ", ".join(m.profile for m in gpu.mig_devices) or "no MIG devices"
            parts.append(f"GPU {gpu.index}: {layout}")
    return "; ".join(parts)


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
