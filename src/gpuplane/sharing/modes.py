"""GPU sharing modes: how each GPU of a node is offered to pods, and what each mode isolates.

The modes are the ones platform teams run today:

* exclusive     one pod per GPU (the device plugin's default),
* time-slicing  `replicas` pods per GPU take turns (device plugin `sharing.timeSlicing`),
* mps           `replicas` MPS clients per GPU, each limited to 1/replicas of memory and SMs,
* mig           hardware partitions (A100, A30, H100, H200): a layout of MIG instances per GPU,
* fractional    the scheduler splits a GPU by compute and memory (HAMi, KAI),
* vgpu          fixed-size vGPU profiles of a GPU, as VMs see them (KubeVirt with NVIDIA vGPU).

A node has one mode for all its GPUs unless a user sets some GPUs apart (`per_gpu`), as the
device plugin allows with `devices:` in its sharing config and as MIG's mixed strategy does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from gpuplane.catalog.models import GpuModel
from gpuplane.catalog.resources import GPU
from gpuplane.errors import Location, ManifestError


class SharingKind(StrEnum):
    EXCLUSIVE = "exclusive"
    TIME_SLICING = "time-slicing"
    MPS = "mps"
    MIG = "mig"
    FRACTIONAL = "fractional"
    VGPU = "vgpu"


class MigStrategy(StrEnum):
    """The device plugin's migStrategy flag: how MIG devices are advertised."""

    NONE = "none"  # MIG devices are not advertised
    SINGLE = "single"  # every MIG device as nvidia.com/gpu; one profile per node
    MIXED = "mixed"  # each MIG profile as its own resource, nvidia.com/mig-<profile>


class FractionPolicy(StrEnum):
    """Where a fraction goes among a node's GPUs (HAMi's gpu-scheduler-policy)."""

    BINPACK = "binpack"  # the fullest GPU that fits: keeps whole GPUs free
    SPREAD = "spread"  # the emptiest GPU: less interference between tenants


@dataclass(frozen=True)
class Isolation:
    """What a sharing mode guarantees to the pods that share a GPU."""

    memory: bool  # a pod cannot use another's GPU memory or run it out of memory
    fault: bool  # a fault (XID, crash) in one pod does not take down the others
    compute: str  # "dedicated", "guaranteed share", "best effort" or "time share"
    note: str


#: The trade each mode makes, shown in reports so that users see what they give up.
ISOLATION: Mapping[SharingKind, Isolation] = {
    SharingKind.EXCLUSIVE: Isolation(True, True, "dedicated", "one pod owns the whole GPU"),
    SharingKind.TIME_SLICING: Isolation(
        False, False, "time share", "pods take turns; memory and faults are shared"
    ),
    SharingKind.MPS: Isolation(
        True, False, "guaranteed share", "memory and SM limits per client; one fault hits all"
    ),
    SharingKind.MIG: Isolation(
        True, True, "dedicated", "hardware partitions: own SMs, memory, caches and faults"
    ),
    SharingKind.FRACTIONAL: Isolation(
        True, False, "best effort", "memory capped in software (HAMi/KAI); compute is shared"
    ),
    SharingKind.VGPU: Isolation(
        True, True, "time share", "a VM per vGPU: fixed memory, scheduled compute"
    ),
}


#: Devices a fractional GPU is advertised as unless configured (HAMi's deviceSplitCount default).
DEFAULT_SPLIT_COUNT = 10
#: The most a split count may be: one device per milli-GPU.
MAX_SPLIT_COUNT = 1000


@dataclass(frozen=True)
class GpuSharing:
    """How one GPU is shared. Fields that do not apply to `kind` keep their defaults.

    `resource` is the extended resource the GPU's devices are advertised as: nvidia.com/gpu,
    or a renamed one (renameByDefault makes it nvidia.com/gpu.shared), or the vGPU type.
    `split_count` is how many devices a fractional GPU is advertised as (HAMi's
    deviceSplitCount): the kubelet hands every pod on the GPU one of them, so at most that
    many pods share it.
    """

    kind: SharingKind = SharingKind.EXCLUSIVE
    replicas: int = 1
    resource: str = GPU
    fail_requests_greater_than_one: bool = False
    mig_layout: tuple[str, ...] = ()
    fraction_policy: FractionPolicy = FractionPolicy.BINPACK
    split_count: int = DEFAULT_SPLIT_COUNT
    vgpu_memory_mib: int = 0

    @property
    def isolation(self) -> Isolation:
        return ISOLATION[self.kind]

    @property
    def replicated(self) -> bool:
        """True for modes that cut a GPU into `replicas` equal devices."""
        return self.kind in (SharingKind.TIME_SLICING, SharingKind.MPS, SharingKind.VGPU)


EXCLUSIVE = GpuSharing()


@dataclass(frozen=True)
class NodeSharing:
    """The sharing mode of a node's GPUs: a default, overrides per GPU index, MIG options."""

    default: GpuSharing = EXCLUSIVE
    per_gpu: Mapping[int, GpuSharing] = field(default_factory=dict)
    mig_strategy: MigStrategy = MigStrategy.NONE
    #: Reshape an idle MIG GPU's layout to fit a request (as HAMi and Volcano offer).
    dynamic_mig: bool = False

    def for_gpu(self, index: int) -> GpuSharing:
        return self.per_gpu.get(index, self.default)

    def kinds(self, gpu_count: int) -> set[SharingKind]:
        return {self.for_gpu(i).kind for i in range(gpu_count)}


EXCLUSIVE_NODE = NodeSharing()


def check_replicas(kind: SharingKind, replicas: int, model: GpuModel | None, at: Location) -> None:
    """Refuse replicas `model` cannot serve: no time-slicing at all, or too many MPS clients."""
    if model is None:
        return
    if not model.timeslicing_supported:
        raise ManifestError(f"{model.product} does not support {kind}", where=at)
    if kind is SharingKind.MPS and replicas > model.max_mps_clients:
        raise ManifestError(
            f"{replicas} MPS replicas exceed the {model.max_mps_clients} MPS clients a "
            f"{model.product} serves",
            where=at,
        )
