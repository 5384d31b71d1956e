"""Builders for queueing tests: queues, flavors, workloads, a small cluster."""

from __future__ import annotations

from gpuplane.catalog.resources import GPU
from gpuplane.cluster import ClusterState
from gpuplane.objects.queues import (
    ClusterQueue,
    Cohort,
    FlavorQuotas,
    LocalQueue,
    Preemption,
    QueueingStrategy,
    ResourceFlavor,
    ResourceGroup,
    ResourceQuotaSpec,
)
from gpuplane.placement import Scheduler
from gpuplane.queueing import PodSet, Queueing, QueueingConfig, Workload

from helpers import gpu_node, pod, whole

FLAVOR = "default"


def cq(
    name: str,
    gpus: float,
    cohort: str | None = None,
    borrowing: float | None = None,
    lending: float | None = None,
    strategy: QueueingStrategy = QueueingStrategy.BEST_EFFORT_FIFO,
    preemption: Preemption | None = None,
    weight: float = 1.0,
) -> ClusterQueue:
    """A ClusterQueue with GPU quota (in GPUs) and ample CPU and memory."""

    def milli(x: float | None) -> int | None:
        return None if x is None else int(x * 1000)

    resources = {
        "cpu": ResourceQuotaSpec(10_000_000),
        "memory": ResourceQuotaSpec(100_000_000),
        GPU: ResourceQuotaSpec(int(gpus * 1000), milli(borrowing), milli(lending)),
    }
    group = ResourceGroup(("cpu", "memory", GPU), (FlavorQuotas(FLAVOR, resources),))
    return ClusterQueue(
        name,
        (group,),
        cohort,
        strategy,
        preemption or Preemption(),
        weight,
    )


def engine(
    queues: list[ClusterQueue],
    nodes: int = 2,
    gpus_per_node: int = 8,
    cohorts: tuple[Cohort, ...] = (),
    **config: object,
) -> Queueing:
    state = ClusterState([gpu_node(f"n{i}", gpus_per_node) for i in range(nodes)])
    locals_ = [LocalQueue(q.name, "ns", q.name) for q in queues]
    cfg = QueueingConfig(queues, locals_, (ResourceFlavor(FLAVOR),), cohorts, **config)  # type: ignore[arg-type]
    return Queueing(Scheduler(state), cfg)


def job(
    name: str,
    queue: str,
    gpus_per_pod: int = 1,
    pods: int = 1,
    priority: int = 0,
    created: float = 0.0,
    duration: float | None = None,
    checkpoint: float | None = None,
) -> Workload:
    template = pod("t", whole(gpus_per_pod), cpu_milli=1000, memory_mib=1024)
    return Workload(
        key=f"ns/{name}",
        namespace="ns",
        queue=queue,
        pod_sets=(PodSet("main", template, pods),),
        priority=priority,
        created=created,
        duration=duration,
        checkpoint_interval=checkpoint,
    )


def admitted(result) -> list[str]:
    return [a.workload.key.removeprefix("ns/") for a in result.admitted]


def evicted(result) -> list[str]:
    return [e.workload.key.removeprefix("ns/") for e in result.evicted]
