"""The scenario's parts about work and admission rules: kinds, arrivals, failures, queueing.

    kinds:                             # what teams run (under `workload:`)
      training: {pods: [2, 4], gpus: 8, duration: {median: 3h, sigma: 0.5}, checkpointInterval: 30m}
    arrivals:                          # Poisson arrivals, `count` of them, from `start` on
      - {name: steady, count: 300, ratePerHour: 12,
         teams: [{namespace: research, queue: research, kinds: {training: 1}}]}
    failures: [{node: a100-3, at: 8h, recoverAfter: 2h}]
    queueing: {cohorts: false, queueingStrategy: StrictFIFO, gangTimeout: 1h,
               manageJobsWithoutQueueName: false}

Durations are Go durations ("2h30m") or seconds. Field names are camelCase, as in Kubernetes.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, field_validator

from gpuplane import quantity
from gpuplane.cluster.spec_base import Model, checked
from gpuplane.errors import Location
from gpuplane.limits import MAX_ARRIVALS, MAX_GPUS_PER_POD, MAX_PODS_PER_WORKLOAD
from gpuplane.objects.queues import (
    BorrowWithinCohort,
    QueueingStrategy,
    ReclaimWithinCohort,
    WithinClusterQueue,
)
from gpuplane.objects.read_duration import read_duration
from gpuplane.objects.yamlio import Field as YamlField


def seconds(value: Any) -> float:
    """A Go duration ("2h30m") or a number of seconds."""
    return checked(lambda v: read_duration(YamlField(v, Location())), value)


class DurationLaw(Model):
    """A log-normal duration: its median, its log-space sigma, clipped to [min, max]."""

    median: float
    sigma: float = Field(default=0.5, ge=0)
    min: float = 0.0
    max: float | None = None

    @field_validator("median", "min", "max", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> float | None:
        return None if value is None else seconds(value)


#: Pods of one workload of a kind, and whole GPUs per pod (0 for CPU-only work).
PodCount = Annotated[int, Field(ge=1, le=MAX_PODS_PER_WORKLOAD)]
GpuCount = Annotated[int, Field(ge=0, le=MAX_GPUS_PER_POD)]


class KindSpec(Model):
    """A kind of work: pods per gang and GPUs per pod (a number, or a list to pick from)."""

    pods: PodCount | Annotated[list[PodCount], Field(min_length=1)] = 1
    gpus: GpuCount | Annotated[list[GpuCount], Field(min_length=1)] = 1
    #: A share of one GPU (milli-GPU) instead of whole GPUs.
    gpu_milli: int | None = Field(default=None, gt=0, lt=1000)
    cpu: int = Field(default=4000, description="per pod, millicores")
    memory: int = Field(default=16_384, description="per pod, MiB")
    duration: DurationLaw | float
    checkpoint_interval: float | None = None
    priority: int = 0
    #: A WorkloadPriorityClass of the manifests; wins over `priority`.
    priority_class: str | None = None

    @field_validator("duration", mode="before")
    @classmethod
    def _fixed(cls, value: Any) -> Any:
        return value if isinstance(value, dict) else seconds(value)

    @field_validator("checkpoint_interval", mode="before")
    @classmethod
    def _interval(cls, value: Any) -> float | None:
        return None if value is None else seconds(value)

    @field_validator("cpu", mode="before")
    @classmethod
    def _cpu(cls, value: Any) -> int:
        return checked(lambda v: quantity.millicores(v, round_up=True), value)

    @field_validator("memory", mode="before")
    @classmethod
    def _memory(cls, value: Any) -> int:
        return checked(lambda v: quantity.mebibytes(v, round_up=True), value)


class TeamSpec(Model):
    namespace: str
    queue: str = Field(description="the team's LocalQueue")
    weight: float = Field(default=1.0, gt=0)
    #: Kind name -> weight in the team's mix (each above 0: a zero weight picks nothing).
    kinds: dict[str, Annotated[float, Field(gt=0)]] = Field(min_length=1)


class ArrivalSpec(Model):
    name: str = Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    count: int = Field(ge=0, le=MAX_ARRIVALS)
    rate_per_hour: float = Field(gt=0)
    start: float = 0.0
    teams: list[TeamSpec] = Field(min_length=1)

    @field_validator("start", mode="before")
    @classmethod
    def _start(cls, value: Any) -> float:
        return seconds(value)


class FailureSpec(Model):
    node: str
    at: float
    recover_after: float | None = None

    @field_validator("at", "recover_after", mode="before")
    @classmethod
    def _time(cls, value: Any) -> float | None:
        return None if value is None else seconds(value)


class PreemptionSpec(Model):
    within_cluster_queue: WithinClusterQueue = WithinClusterQueue.NEVER
    reclaim_within_cohort: ReclaimWithinCohort = ReclaimWithinCohort.NEVER
    borrow_within_cohort: BorrowWithinCohort = BorrowWithinCohort.NEVER


class QueueingSpec(Model):
    """Admission rules to run the scenario under; unset fields keep the manifests' own."""

    #: false: every ClusterQueue stands alone, neither lending nor borrowing.
    cohorts: bool = True
    queueing_strategy: QueueingStrategy | None = None
    #: Replaces every ClusterQueue's preemption policy.
    preemption: PreemptionSpec | None = None
    #: Unset: as the queues say (off for Kueue's unless enabled here, on for Volcano's).
    fair_sharing: bool | None = None
    placement_aware: bool = True
    backfill: bool = True
    gang_timeout: float | None = None
    #: Kueue's Configuration field: false (its default) leaves Jobs without a queue name to
    #: kube-scheduler; true holds them suspended, never admitted (they name no LocalQueue).
    manage_jobs_without_queue_name: bool = False

    @field_validator("gang_timeout", mode="before")
    @classmethod
    def _timeout(cls, value: Any) -> float | None:
        return None if value is None else seconds(value)


def check_arrivals(arrivals: list[ArrivalSpec], kinds: dict[str, KindSpec]) -> None:
    """Every team's kinds are defined, and arrival names (workload name prefixes) are unique."""
    for arrival in arrivals:
        for team in arrival.teams:
            unknown = sorted(set(team.kinds) - set(kinds))
            if unknown:
                raise ValueError(
                    f"arrivals {arrival.name}: kind {unknown[0]} is not defined in `kinds`"
                )
    names = [a.name for a in arrivals]
    if len(set(names)) != len(names):
        raise ValueError("arrival names must be unique (they prefix workload names)")
