"""What the admission engine is configured with and what a cycle reports."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from gpuplane.objects.policy import ResourceQuota
from gpuplane.objects.queues import ClusterQueue, Cohort, LocalQueue, ResourceFlavor, VolcanoQueue
from gpuplane.placement.scheduler import Placement
from gpuplane.queueing.workload import Workload


@dataclass(frozen=True)
class QueueingConfig:
    cluster_queues: Sequence[ClusterQueue]
    local_queues: Sequence[LocalQueue]
    flavors: Sequence[ResourceFlavor] = ()
    cohorts: Sequence[Cohort] = ()
    resource_quotas: Sequence[ResourceQuota] = ()
    placement_aware: bool = True
    fair_sharing: bool = False
    backfill: bool = True
    gang_timeout: float | None = None
    scan_limit: int = 32
    #: Whether fair sharing preempts (Volcano: only with the reclaim action).
    fair_preemption: bool = True
    #: Volcano queues whose deserved share by weight is resolved from the cluster's capacity
    #: when the engine starts (the proportion plugin).
    volcano_queues: Sequence[VolcanoQueue] = ()


@dataclass(frozen=True)
class Admission:
    workload: Workload
    queue: str
    flavors: Mapping[str, str]
    placements: tuple[Placement, ...]
    borrowing: bool
    at: float

    @property
    def placed(self) -> bool:
        return len(self.placements) == self.workload.pod_count


@dataclass(frozen=True)
class Eviction:
    workload: Workload
    queue: str
    reason: str  # "Preempted", "NodeFailure", ...
    at: float
    lost_work: float
    by: str | None = None


@dataclass
class CycleResult:
    admitted: list[Admission] = field(default_factory=list)
    evicted: list[Eviction] = field(default_factory=list)
    #: Workloads that were admitted by quota earlier and got their pods placed now.
    placed_late: list[Admission] = field(default_factory=list)
    #: Gangs that gave up their reservation after gang_timeout.
    timed_out: list[str] = field(default_factory=list)
