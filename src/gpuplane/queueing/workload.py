"""Workload: the unit of admission (a Job, a bare Pod, a PodGroup), and what it asks of quota.

Quota is counted in the brain's units per resource name: `cpu` in millicores, `memory` in MiB,
`nvidia.com/gpu` in milli-GPU (a whole GPU is 1000, a 0.3 fraction 300, so fractions count
what they take), and every other resource (MIG profiles, shared replicas) as a count.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from gpuplane.catalog.resources import GPU, mig_resource
from gpuplane.objects.gpu_request import GpuKind
from gpuplane.objects.pod import Pod

CPU, MEMORY = "cpu", "memory"


def pod_requests(pod: Pod) -> dict[str, int]:
    """What one pod counts against quota, by resource name."""
    out: dict[str, int] = {}
    if pod.cpu_milli:
        out[CPU] = pod.cpu_milli
    if pod.memory_mib:
        out[MEMORY] = pod.memory_mib
    gpu = pod.gpu
    if gpu.wants_gpu:
        if gpu.kind in (GpuKind.WHOLE, GpuKind.FRACTION):
            out[GPU] = gpu.count * (1000 if gpu.kind is GpuKind.WHOLE else gpu.milli)
        elif gpu.kind is GpuKind.MIG:
            out[mig_resource(gpu.mig_profile or "")] = gpu.count
        else:
            out[gpu.resource] = gpu.count
    for name, count in pod.extended.items():
        out[name] = out.get(name, 0) + count
    return out


@dataclass(frozen=True)
class PodSet:
    """`count` pods made from one template (a Job's pods, a PodGroup's members)."""

    name: str
    template: Pod
    count: int = 1


@dataclass(frozen=True)
class Workload:
    """A unit of admission: all its pods are admitted together or not at all.

    `priority` orders it in its queue (higher first), then `created` (earlier first).
    `duration` and `checkpoint_interval` are what the simulator needs (seconds; None when
    unknown). All pods must run at once unless `min_pods` is set (an elastic gang, a Volcano
    PodGroup with minMember below its pod count): it starts once `min_pods` of them can run
    and the others join as room appears.
    """

    key: str
    namespace: str
    queue: str
    pod_sets: tuple[PodSet, ...]
    priority: int = 0
    created: float = 0.0
    duration: float | None = None
    checkpoint_interval: float | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    min_pods: int | None = None

    @property
    def pod_count(self) -> int:
        return sum(ps.count for ps in self.pod_sets)

    def pods(self) -> list[Pod]:
        """The workload's pods, named <workload>-<podset>-<index>, in the workload's namespace.

        Made once (every admission attempt asks again); a new list each call.
        """
        cached: tuple[Pod, ...] | None = self.__dict__.get("_pods")
        if cached is None:
            name = self.key.split("/", 1)[-1]
            out = []
            for ps in self.pod_sets:
                for i in range(ps.count):
                    suffix = f"{ps.name}-{i}" if len(self.pod_sets) > 1 else str(i)
                    out.append(
                        replace(
                            ps.template,
                            name=f"{name}-{suffix}",
                            namespace=self.namespace,
                            owner=self.key,
                        )
                    )
            cached = tuple(out)
            # The dataclass is frozen; the cache is not part of its value.
            object.__setattr__(self, "_pods", cached)
        return list(cached)

    def requests(self) -> dict[str, int]:
        """Total quota the workload needs while it runs (computed once; a copy each call)."""
        cached: dict[str, int] | None = self.__dict__.get("_requests")
        if cached is None:
            cached = {}
            for ps in self.pod_sets:
                for name, amount in pod_requests(ps.template).items():
                    cached[name] = cached.get(name, 0) + amount * ps.count
            # The dataclass is frozen; the cache is not part of its value.
            object.__setattr__(self, "_requests", cached)
        return dict(cached)

    def gpu_milli(self) -> int:
        """Milli-GPU of whole and fractional GPUs it holds (for GPU-hour accounting)."""
        return self.requests().get(GPU, 0)
