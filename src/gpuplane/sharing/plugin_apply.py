"""The device plugin's config applied to a node: the config chosen, the sharing it gives.

A node's config is chosen as the plugin's config-manager chooses it (`select_config`): the
node label nvidia.com/device-plugin.config names it; without it, the default config (the
chart's config.default), else one named "default", else the only one; else none (the
config-manager's "empty" fallback: the plugin's built-in defaults, GPUs not shared). The
config then gives the node's sharing (`sharing_from_device_plugin_config`), refused where the
plugin or the GPU refuses it.

Labels that show a mode the plugin already serves win over the config (`apply_config`). On a
node the driver says which GPUs are in MIG mode (`with_mig_gpus`), and `devices` may name GPUs
by UUID (`resolve_uuids`), which are checked although the plugin then ignores `devices`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from gpuplane.catalog import GpuModel
from gpuplane.catalog.labels import DEVICE_PLUGIN_CONFIG as CONFIG_LABEL
from gpuplane.catalog.resources import GPU, MIG_PREFIX
from gpuplane.errors import InputError, Location, ManifestError
from gpuplane.sharing.devices import MigLayout
from gpuplane.sharing.modes import (
    GpuSharing,
    MigStrategy,
    NodeSharing,
    SharingKind,
    check_replicas,
)
from gpuplane.sharing.plugin_config import (
    DevicePluginConfig,
    DevicePluginConfigMap,
    ReplicatedResource,
    SharingConfig,
    without_unsupported,
)

#: The config the config-manager falls back to by name when no default is set.
DEFAULT_CONFIG_NAME = "default"


def select_config(
    node_labels: Mapping[str, str],
    configmaps: Sequence[DevicePluginConfigMap],
    *,
    node: str | None = None,
    default: str | None = None,
    where: Location | None = None,
) -> DevicePluginConfig | None:
    """The config the device plugin on a node serves, or None when it would serve none.

    The node label nvidia.com/device-plugin.config names it; without the label, `default`
    (the chart's config.default, the config-manager's DEFAULT_CONFIG), else the config named
    "default", else the only config there is. A name no ConfigMap holds is an InputError
    (the config-manager fails the same way). Configs of several ConfigMaps are pooled; the
    plugin reads one ConfigMap, so a name in two of them is an InputError too.
    """
    pool: dict[str, tuple[DevicePluginConfig, DevicePluginConfigMap]] = {}
    for cm in configmaps:
        for key, config in cm.configs.items():
            if key in pool:
                other = pool[key][1]
                raise InputError(
                    f"config {key!r} is in ConfigMaps {other.namespace}/{other.name} and "
                    f"{cm.namespace}/{cm.name}; the device plugin reads one ConfigMap",
                    where=cm.source,
                    hint="keep one device plugin ConfigMap, or give each config its own name",
                )
            pool[key] = (config, cm)
    who = f"node {node}" if node else "the node"
    chosen = node_labels.get(CONFIG_LABEL) or None
    label = CONFIG_LABEL
    if chosen is None and default is not None:
        chosen, label = default, "the default config"
    if chosen is not None:
        if chosen not in pool:
            known = ", ".join(sorted(pool)) or "none"
            raise InputError(
                f"{who} asks for device plugin config {chosen!r} ({label}), which no "
                f"ConfigMap holds",
                where=(where or Location()).child(CONFIG_LABEL) if label == CONFIG_LABEL else None,
                hint=f"configs found: {known}",
            )
        return pool[chosen][0]
    if DEFAULT_CONFIG_NAME in pool:
        return pool[DEFAULT_CONFIG_NAME][0]
    if len(pool) == 1:
        return next(iter(pool.values()))[0]
    return None


def sharing_from_device_plugin_config(
    config: DevicePluginConfig,
    gpu_count: int,
    model: GpuModel | None = None,
    where: Location | None = None,
) -> NodeSharing:
    """The sharing a device plugin config gives a node of `gpu_count` physical GPUs.

    The config sets migStrategy and the replicas of nvidia.com/gpu; which GPUs are in MIG mode
    is mig-manager's business (the node's nvidia.com/mig.config), not the plugin's. The plugin
    ignores `rename` and `devices` (`without_unsupported`): every GPU is replicated, advertised
    as nvidia.com/gpu, or nvidia.com/gpu.shared under renameByDefault. MIG devices cannot be
    replicated yet: refused. `where` places errors (the ConfigMap).
    """
    config = without_unsupported(config)
    base = (where or Location()).child(f"data.{config.name}")
    strategy = MigStrategy(config.mig_strategy)
    if config.time_slicing is not None and config.mps is not None:
        raise ManifestError(
            "timeSlicing and mps are mutually exclusive", where=base.child("sharing")
        )
    kind, shared = SharingKind.TIME_SLICING, config.time_slicing
    if config.mps is not None:
        kind, shared = SharingKind.MPS, config.mps
    if shared is None:
        return NodeSharing(mig_strategy=strategy)
    at = base.child(f"sharing.{'mps' if kind is SharingKind.MPS else 'timeSlicing'}")
    gpu_entries: list[tuple[int, ReplicatedResource]] = []
    for i, entry in enumerate(shared.resources):
        name = _qualified(entry.name)
        if name == GPU:
            gpu_entries.append((i, entry))
        elif name.startswith(MIG_PREFIX):
            if strategy is MigStrategy.MIXED:
                raise ManifestError(
                    f"replicating MIG devices ({name}) is not supported yet",
                    where=at.child(f"resources[{i}].name"),
                    hint="replicate nvidia.com/gpu, or use MIG instances whole",
                )
            # Without the mixed strategy no such resource exists: the plugin skips the entry.
        else:
            raise ManifestError(
                f"the device plugin replicates nvidia.com/gpu and MIG resources, not {name}",
                where=at.child(f"resources[{i}].name"),
            )
    if not gpu_entries:
        return NodeSharing(mig_strategy=strategy)
    if len(gpu_entries) > 1:
        raise ManifestError(
            "nvidia.com/gpu appears in two resources entries",
            where=at.child(f"resources[{gpu_entries[1][0]}]"),
            hint="one entry per resource",
        )
    index, entry = gpu_entries[0]
    check_replicas(kind, entry.replicas, model, at.child(f"resources[{index}].replicas"))
    replicated = GpuSharing(
        kind=kind,
        replicas=entry.replicas,
        resource=_qualified(entry.rename) if entry.rename else GPU,
        fail_requests_greater_than_one=shared.fail_requests_greater_than_one,
    )
    return NodeSharing(default=replicated, mig_strategy=strategy)


def _qualified(name: str) -> str:
    # The plugin prefixes a bare name with nvidia.com/ (api/config/v1 NewResourceName).
    return name if "/" in name else f"nvidia.com/{name}"


def labels_decide(sharing: NodeSharing, gpu_count: int) -> bool:
    """Whether labels show a mode the device plugin already serves, which a config must not undo.

    Replicas, fractions, vGPUs, dynamic MIG and MIG devices GFD counted (any strategy but
    none) all do; an exclusive node does not, nor MIG GPUs known only from mig.config, which
    still wait for a migStrategy to be advertised.
    """
    if sharing.dynamic_mig:
        return True
    kinds = sharing.kinds(gpu_count)
    if kinds - {SharingKind.EXCLUSIVE, SharingKind.MIG}:
        return True
    return SharingKind.MIG in kinds and sharing.mig_strategy is not MigStrategy.NONE


def apply_config(
    labels_sharing: NodeSharing,
    config_sharing: NodeSharing,
    gpu_count: int,
    where: Location | None = None,
) -> NodeSharing:
    """A node's sharing once its device plugin config applies to what its labels say.

    Labels that show a mode the plugin serves win (`labels_decide`). MIG GPUs known from
    mig.config keep their layout and take the config's migStrategy; the plugin does not
    replicate MIG-enabled GPUs, so the config's replicas then apply to no GPU, except under
    single, where MIG devices are nvidia.com/gpu and replicating them is not supported yet.
    Otherwise the config decides.
    """
    if labels_decide(labels_sharing, gpu_count):
        return labels_sharing
    if SharingKind.MIG not in labels_sharing.kinds(gpu_count):
        return config_sharing
    replicated = any(config_sharing.for_gpu(g).replicated for g in range(gpu_count))
    if replicated and config_sharing.mig_strategy is MigStrategy.SINGLE:
        raise ManifestError(
            "replicas of MIG devices (nvidia.com/gpu under migStrategy single) are not "
            "supported yet",
            where=where,
        )
    if any(config_sharing.for_gpu(g).kind is SharingKind.MPS for g in range(gpu_count)):
        raise ManifestError("the device plugin does not share MIG devices with MPS", where=where)
    return NodeSharing(
        default=labels_sharing.default,
        per_gpu=labels_sharing.per_gpu,
        mig_strategy=config_sharing.mig_strategy,
    )


def resolve_uuids(config: DevicePluginConfig, gpu_uuids: Mapping[str, int]) -> DevicePluginConfig:
    """The config with GPU UUIDs in `devices` lists replaced by the GPUs' indices.

    `gpu_uuids` maps the UUID of each GPU of the node to its index; a GPU UUID that is not
    among them is an InputError. Only a node knows its UUIDs: a simulated cluster refuses them.
    """
    index = {uuid: str(gpu) for uuid, gpu in gpu_uuids.items()}

    def resolve(sharing: SharingConfig | None) -> SharingConfig | None:
        if sharing is None:
            return None
        return replace(sharing, resources=tuple(_resolve(r, index) for r in sharing.resources))

    return replace(config, time_slicing=resolve(config.time_slicing), mps=resolve(config.mps))


def _resolve(resource: ReplicatedResource, index: Mapping[str, str]) -> ReplicatedResource:
    if not isinstance(resource.devices, tuple):
        return resource
    refs = []
    for ref in resource.devices:
        if ref.startswith("GPU-") and ref not in index:
            raise InputError(
                f"device {ref!r} in {resource.name}'s devices is not a GPU of this node",
                hint="GPUs here: " + ", ".join(sorted(index)),
            )
        refs.append(index.get(ref, ref))
    return replace(resource, devices=tuple(refs))


def with_mig_gpus(
    config: NodeSharing, mig: Mapping[int, MigLayout], gpu_count: int
) -> NodeSharing:
    """A node's sharing under a config, once the GPUs in `mig` are in MIG mode with those instances.

    The config decides the MIG strategy and which whole GPUs are replicated; which GPUs are in
    MIG mode, and with which instances, is mig-manager's business (the driver reports it), not
    the plugin's. Refused with an InputError, as the plugin refuses them: under single, whole
    GPUs, more than one profile or an empty MIG GPU, and replicas of MIG devices; MPS on a node
    with MIG GPUs.
    """
    per_gpu: dict[int, GpuSharing] = {}
    for gpu in range(gpu_count):
        if gpu in mig:
            profiles = tuple(profile for profile, _ in mig[gpu])
            per_gpu[gpu] = GpuSharing(kind=SharingKind.MIG, mig_layout=profiles)
        elif gpu in config.per_gpu:
            per_gpu[gpu] = config.per_gpu[gpu]
    sharing = NodeSharing(default=config.default, per_gpu=per_gpu, mig_strategy=config.mig_strategy)
    if mig:
        _check_mig(sharing, mig, gpu_count)
    return sharing


def _check_mig(sharing: NodeSharing, mig: Mapping[int, MigLayout], gpu_count: int) -> None:
    whole = [g for g in range(gpu_count) if g not in mig]
    replicated = [g for g in whole if sharing.for_gpu(g).replicated]
    if sharing.mig_strategy is MigStrategy.SINGLE:
        profiles = {profile for layout in mig.values() for profile, _ in layout}
        if whole or len(profiles) != 1 or any(not layout for layout in mig.values()):
            raise InputError(
                "migStrategy single needs every GPU in MIG mode with devices of one profile; "
                f"found {_describe_mig(mig, gpu_count)}",
                hint="use migStrategy mixed, or give every GPU the same MIG layout",
            )
        if sharing.default.replicated:
            # Under single the MIG devices are nvidia.com/gpu, so the config would replicate them.
            raise InputError(
                "replicas of MIG devices (nvidia.com/gpu under migStrategy single) are not "
                "supported yet",
                hint="drop the sharing section, or use migStrategy mixed",
            )
    if sharing.default.kind is SharingKind.MPS or any(
        sharing.for_gpu(g).kind is SharingKind.MPS for g in replicated
    ):
        raise InputError(
            "MPS does not share MIG devices, and this node has GPUs in MIG mode",
            hint="share the whole GPUs with timeSlicing, or turn MIG off",
        )


def _describe_mig(mig: Mapping[int, MigLayout], gpu_count: int) -> str:
    parts = []
    for gpu in range(gpu_count):
        if gpu not in mig:
            parts.append(f"GPU {gpu}: MIG off")
        else:
            layout = ", ".join(profile for profile, _ in mig[gpu]) or "no MIG devices"
            parts.append(f"GPU {gpu}: {layout}")
    return "; ".join(parts)
