"""What the device plugin answers the kubelet: preferred allocations and Allocate responses.

Pure functions of the node's devices (`gpuplane.node.devices.PluginDevice`), so they are
tested without sockets.

Preferred allocation keeps a request on one NUMA node when one can hold it (the one already
holding its must-include devices, else the one it fills best; for replicas, one with as many
distinct GPUs as replicas asked, else the request spans NUMA nodes), and then:

* whole GPUs and MIG devices: the lowest GPU indices; MIG devices from the GPU with the fewest
  free devices first, so that emptier GPUs stay free for larger requests;
* time-slicing and MPS replicas: spread over physical GPUs like the NVIDIA plugin's
  "distributed" policy: the GPU with the fewest replicas in use goes first, then the one this
  request has taken fewest from, so replicas of one request land on distinct GPUs when they
  can.

Allocate hands the container its devices by the configured device list strategies, as the
NVIDIA device plugin does: NVIDIA_VISIBLE_DEVICES with the GPU and MIG UUIDs (envvar), one
/dev/null mount per UUID under /var/run/nvidia-container-devices (volume-mounts), CDI device
names in a cdi.k8s.io/ annotation (cdi-annotations) or in the CDI field of the response
(cdi-cri). MPS replicas also get the MPS pipe and log directories. A container given a
fraction of a GPU (only with API access, from the scheduler's assignment: `gpuplane.node.
assigned`) gets that GPU as above plus its share as environment (`fraction_envs`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from gpuplane.node.devices import PluginDevice
from gpuplane.sharing import NodeSharing, SharingKind


class DeviceListStrategy(StrEnum):
    """How Allocate tells the container runtime which devices to expose."""

    ENVVAR = "envvar"
    VOLUME_MOUNTS = "volume-mounts"
    CDI_ANNOTATIONS = "cdi-annotations"
    CDI_CRI = "cdi-cri"


CDI_STRATEGIES = frozenset({DeviceListStrategy.CDI_ANNOTATIONS, DeviceListStrategy.CDI_CRI})
VISIBLE_DEVICES = "NVIDIA_VISIBLE_DEVICES"
VOLUME_MOUNTS_ROOT = "/var/run/nvidia-container-devices"
#: The CDI kind the agent's devices are named under: nvidia.com/gpu=<UUID>.
CDI_KIND = "nvidia.com/gpu"
CDI_ANNOTATION_PREFIX = "cdi.k8s.io/"
CDI_ANNOTATION_PLUGIN = "gpuplane-device-plugin"
#: Where the NVIDIA plugin's MPS control daemon keeps its pipes, logs and shared memory.
MPS_HOST_ROOT = "/var/lib/kubelet/device-plugins"
_CDI_KEY_MAX = 63


class AllocationError(ValueError):
    """A request the plugin refuses: unknown devices, impossible sizes, too many replicas."""


@dataclass(frozen=True)
class Mount:
    container_path: str
    host_path: str
    read_only: bool = False


@dataclass(frozen=True)
class ContainerAllocation:
    """What one container gets: the fields of the kubelet's ContainerAllocateResponse."""

    envs: dict[str, str] = field(default_factory=dict)
    mounts: tuple[Mount, ...] = ()
    annotations: dict[str, str] = field(default_factory=dict)
    cdi_devices: tuple[str, ...] = ()


@dataclass(frozen=True)
class AllocateOptions:
    strategies: tuple[DeviceListStrategy, ...] = (DeviceListStrategy.ENVVAR,)
    mps_host_root: str = MPS_HOST_ROOT
    cdi_kind: str = CDI_KIND


def allocate(
    ids: Sequence[str],
    devices: Mapping[str, PluginDevice],
    sharing: NodeSharing,
    options: AllocateOptions,
    response_id: str,
) -> ContainerAllocation:
    """The response for one container given devices `ids` of one resource.

    `devices` holds the resource's devices by ID; `response_id` makes the CDI annotation key
    unique per response (the NVIDIA plugin uses a random UUID).
    """
    if not ids:
        raise AllocationError("no devices requested")
    chosen = _known(ids, devices)
    replicas = [d for d in chosen if d.replica is not None]
    if len(chosen) > 1 and any(
        sharing.for_gpu(d.gpu.index).fail_requests_greater_than_one for d in replicas
    ):
        raise AllocationError(
            f"request for '{chosen[0].resource}: {len(chosen)}' too large: maximum request "
            "size for shared resources is 1 (failRequestsGreaterThanOne)"
        )
    uuids = list(dict.fromkeys(d.uuid for d in chosen))  # replicas of one GPU name it once
    envs: dict[str, str] = {}
    mounts: list[Mount] = []
    annotations: dict[str, str] = {}
    cdi_devices: tuple[str, ...] = ()
    strategies = set(options.strategies)
    names = [f"{options.cdi_kind}={uuid}" for uuid in uuids]
    if DeviceListStrategy.CDI_ANNOTATIONS in strategies:
        annotations[cdi_annotation_key(CDI_ANNOTATION_PLUGIN, response_id)] = ",".join(names)
    if DeviceListStrategy.CDI_CRI in strategies:
        cdi_devices = tuple(names)
    if DeviceListStrategy.ENVVAR in strategies:
        envs[VISIBLE_DEVICES] = ",".join(uuids)
    if DeviceListStrategy.VOLUME_MOUNTS in strategies:
        # The runtime's hook reads the device list from these mount points, not the env.
        envs[VISIBLE_DEVICES] = VOLUME_MOUNTS_ROOT
        mounts += [Mount(f"{VOLUME_MOUNTS_ROOT}/{uuid}", "/dev/null") for uuid in uuids]
    if any(d.device.kind is SharingKind.MPS for d in chosen):
        envs_mps, mounts_mps = _mps(chosen[0].resource, options.mps_host_root)
        envs.update(envs_mps)
        mounts += mounts_mps
    return ContainerAllocation(envs, tuple(mounts), annotations, cdi_devices)


def fraction_envs(shares: Sequence[tuple[int, int]]) -> dict[str, str]:
    """The environment of a container given fractions of GPUs: (milli-GPU, MiB) per GPU.

    HAMi-core's names, so that its in-container limiter (when the image carries it) enforces
    the share: CUDA_DEVICE_MEMORY_LIMIT_<i> (MiB, "m" suffix) per visible GPU and
    CUDA_DEVICE_SM_LIMIT (percent of the GPU's compute); and gpuplane's own, which state the
    share whatever enforces it: GPUPLANE_GPU_MILLI and GPUPLANE_GPU_MEMORY_MIB, one value per GPU.
    """
    envs = {
        "GPUPLANE_GPU_MILLI": ",".join(str(milli) for milli, _ in shares),
        "GPUPLANE_GPU_MEMORY_MIB": ",".join(str(memory) for _, memory in shares),
    }
    for index, (_, memory) in enumerate(shares):
        if memory > 0:
            envs[f"CUDA_DEVICE_MEMORY_LIMIT_{index}"] = f"{memory}m"
    milli = max((m for m, _ in shares), default=0)
    if milli > 0:
        envs["CUDA_DEVICE_SM_LIMIT"] = str(-(-milli // 10))  # percent, rounded up
    return envs


def _mps(resource: str, host_root: str) -> tuple[dict[str, str], list[Mount]]:
    pipe = f"/mps/{resource}/pipe"
    logs = f"/mps/{resource}/log"
    envs = {"CUDA_MPS_PIPE_DIRECTORY": pipe, "CUDA_MPS_LOG_DIRECTORY": logs}
    mounts = [
        Mount(pipe, f"{host_root}{pipe}"),
        Mount(logs, f"{host_root}{logs}"),
        Mount("/dev/shm", f"{host_root}/mps/shm"),
    ]
    return envs, mounts


def cdi_annotation_key(plugin: str, response_id: str) -> str:
    """The CDI annotation key for one allocation, valid as CDI requires (at most 63 chars)."""
    name = f"{plugin}_{response_id.replace('/', '_')}"
    ok = all(c.isascii() and (c.isalnum() or c in "_-.") for c in name)
    if len(name) > _CDI_KEY_MAX or not ok or not (name[0].isalnum() and name[-1].isalnum()):
        raise AllocationError(f"invalid CDI annotation name {name!r}")
    return CDI_ANNOTATION_PREFIX + name


def _known(ids: Sequence[str], devices: Mapping[str, PluginDevice]) -> list[PluginDevice]:
    unknown = [i for i in ids if i not in devices]
    if unknown:
        raise AllocationError(f"unknown device(s): {', '.join(unknown[:5])}")
    if len(set(ids)) != len(ids):
        raise AllocationError("a device is requested twice")
    return [devices[i] for i in ids]


# ---------------------------------------------------------------- preferred allocation


def preferred_allocation(
    available: Sequence[str],
    must_include: Sequence[str],
    size: int,
    devices: Sequence[PluginDevice],
) -> list[str]:
    """`size` device IDs from `available`, `must_include` first; see the module docstring.

    `devices` is every device of the resource (free or not), which tells how many replicas
    of each GPU are in use. Deterministic: the same request gives the same answer.
    """
    table = {d.id: d for d in devices}
    must = _known(list(dict.fromkeys(must_include)), table)
    candidates = [d for d in _known(list(dict.fromkeys(available)), table) if d not in must]
    needed = size - len(must)
    if size <= 0 or needed < 0:
        raise AllocationError(
            f"allocation size {size} is below the {len(must)} devices that must be included"
            if size > 0
            else f"allocation size must be positive, got {size}"
        )
    if needed > len(candidates):
        raise AllocationError(f"{size} devices asked for, {len(must) + len(candidates)} available")
    if needed == 0:
        return [d.id for d in must]
    replicas = any(d.replica is not None for d in candidates)
    pool = _numa_pool(candidates, must, needed, spread=replicas)
    if replicas:
        picked = _spread_replicas(pool, must, needed, devices, available)
    else:
        picked = _lowest(pool, needed)
    return [d.id for d in must] + [d.id for d in picked]


def _numa_key(node: int | None) -> tuple[int, int]:
    return (1, 0) if node is None else (0, node)


def _numa_pool(
    candidates: list[PluginDevice], must: list[PluginDevice], needed: int, *, spread: bool
) -> list[PluginDevice]:
    """The candidates on the best NUMA node that can hold the request, or all, best first.

    With `spread` (replicas) a node holds the request when it has that many distinct GPUs
    with a free replica; if none has but the node as a whole has, the request spans NUMA
    nodes rather than doubling up on a GPU; with too few GPUs anywhere, replicas are counted.
    """
    groups: dict[int | None, list[PluginDevice]] = {}
    for device in candidates:
        groups.setdefault(device.numa_node, []).append(device)

    def capacity(group: list[PluginDevice]) -> int:
        return len({d.gpu.index for d in group}) if spread else len(group)

    anchored = Counter(d.numa_node for d in must)
    fitting = [node for node, group in groups.items() if capacity(group) >= needed]
    if fitting:
        # The must-include devices' node first; else the tightest fit keeps big nodes whole.
        best = min(fitting, key=lambda n: (-anchored[n], capacity(groups[n]), _numa_key(n)))
        return groups[best]
    if spread and capacity(candidates) < needed:
        return _numa_pool(candidates, must, needed, spread=False)
    # No node holds it: use as few nodes as possible, biggest first.
    order = sorted(groups, key=lambda n: (-anchored[n], -capacity(groups[n]), _numa_key(n)))
    return [d for node in order for d in groups[node]]


def _lowest(pool: list[PluginDevice], needed: int) -> list[PluginDevice]:
    free_on = Counter(d.gpu.index for d in pool)
    numa_rank = {n: i for i, n in enumerate(dict.fromkeys(d.numa_node for d in pool))}

    def key(d: PluginDevice) -> tuple[int, int, int, int]:
        if d.mig is not None:
            # Pack MIG devices onto the GPU with the fewest free ones.
            return (numa_rank[d.numa_node], free_on[d.gpu.index], d.gpu.index, d.mig.start)
        return (numa_rank[d.numa_node], 0, d.gpu.index, 0)

    return sorted(pool, key=key)[:needed]


def _spread_replicas(
    pool: list[PluginDevice],
    must: list[PluginDevice],
    needed: int,
    devices: Sequence[PluginDevice],
    available: Sequence[str],
) -> list[PluginDevice]:
    free = set(available)
    in_use = Counter(d.gpu.index for d in devices if d.id not in free)
    taken = Counter(d.gpu.index for d in must)
    in_use.update(taken)  # the must-include replicas are about to be used too
    numa_rank = {n: i for i, n in enumerate(dict.fromkeys(d.numa_node for d in pool))}
    remaining: dict[int, list[PluginDevice]] = {}
    for device in sorted(pool, key=lambda d: (d.gpu.index, d.replica or 0)):
        remaining.setdefault(device.gpu.index, []).append(device)
    picked: list[PluginDevice] = []
    for _ in range(needed):
        gpu = min(
            (g for g, left in remaining.items() if left),
            key=lambda g: (
                in_use[g],
                taken[g],
                numa_rank[remaining[g][0].numa_node],
                g,
            ),
        )
        picked.append(remaining[gpu].pop(0))
        in_use[gpu] += 1
        taken[gpu] += 1
    return picked
