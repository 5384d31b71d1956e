"""Pod: the unit the scheduler places, with its requests summed the way Kubernetes sums them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from gpuplane.errors import Location
from gpuplane.objects.gpu_request import NO_GPU, GpuRequest
from gpuplane.objects.hints import SimHints
from gpuplane.objects.scheduling import NodeAffinity, Toleration
from gpuplane.quantity import MIB


@dataclass(frozen=True)
class Pod:
    """A pod as the brain sees it: identity, requests in brain units, and where it may run.

    `cpu_milli` and `memory_mib` are the effective requests (max of the init containers'
    and the sum of the app containers', plus overhead), as kube-scheduler computes them.
    `extended` holds other extended resources (not GPU) by name, as whole counts.
    `memory_bytes` is the exact memory request when it is known (read from a manifest);
    `memory_mib` is it rounded up, the brain's unit. `native` holds the native resources
    kube-scheduler's NodeResourcesFit also checks: ephemeral-storage and hugepages-<size> in
    bytes, and `kubernetes.io/`-prefixed ones as counts.
    """

    name: str
    namespace: str = "default"
    cpu_milli: int = 0
    memory_mib: int = 0
    gpu: GpuRequest = NO_GPU
    extended: Mapping[str, int] = field(default_factory=dict)
    memory_bytes: int | None = None
    native: Mapping[str, int] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    node_selector: Mapping[str, str] = field(default_factory=dict)
    affinity: NodeAffinity = field(default_factory=NodeAffinity)
    tolerations: tuple[Toleration, ...] = ()
    node_name: str | None = None
    priority_class_name: str | None = None
    priority: int | None = None
    scheduler_name: str = "default-scheduler"
    #: The Job (or other owner) that made this pod, if any.
    owner: str | None = None
    #: gpuplane.io/duration and gpuplane.io/checkpoint-interval, for the simulator.
    sim: SimHints = field(default_factory=SimHints)
    source: Location = field(default_factory=Location)

    @property
    def memory_request_bytes(self) -> int:
        """The memory request in bytes: exact when known, else `memory_mib` MiB."""
        return self.memory_mib * MIB if self.memory_bytes is None else self.memory_bytes

    @property
    def key(self) -> str:
        """namespace/name, the way Kubernetes names a pod in events and logs."""
        return f"{self.namespace}/{self.name}"
