"""The `gpuplane simulate` scenario: a cluster, a workload, queues, prices, and variants of them.

    name: default
    seed: 7
    horizon: 24h                        # simulated time; metrics cover [first arrival, horizon]
    cluster:
      nodePools: [...]                  # a cluster spec's pools, plus capacityType: spot
      # nodes: nodes.yaml               # or a cluster spec file, or Node manifests
    queues: [queues.yaml]               # Kueue objects: ClusterQueues, LocalQueues, cohorts,
                                        # ResourceFlavors, WorkloadPriorityClasses
    workload:
      kinds:                            # what teams run, and where it may run
        notebook: {gpus: 1, duration: {median: 2h}, priorityClass: interactive,
                   nodeSelector: {gpuplane.io/role: inference}, utilization: 0.1}
      arrivals:                         # Poisson arrivals of a team mix
        - {name: day, count: 300, ratePerHour: 12.5,
           teams: [{namespace: research, queue: research, kinds: {notebook: 1}}]}
      manifests: [jobs/]                # Jobs and Pods, arriving at time 0 in file order
      trace: {openb: pods.csv, limit: 2000, queue: default}
    failures: [{node: a100-3, at: 8h, recoverAfter: 2h}]
    placement: most-allocated           # a placement policy (gpuplane place --help)
    queueing: {preemption: {reclaimWithinCohort: Any}, fairSharing: false}
    prices: {onDemand: {NVIDIA-L4: 0.70}, spotDiscount: 0.6}
    spot: {interruptionsPerNodeDay: 0.2, replacedAfter: 10m}
    variants:                           # each overrides parts of everything above
      - name: exclusive
      - name: time-slicing
        cluster: {nodePools: [{name: l4, sharing: {mode: time-slicing, replicas: 4}}]}

A variant is merged onto the base before it is validated (`twin.merge`): mappings merge key by
key, lists of named items (node pools) merge item by name, anything else is replaced. Variants
may change the cluster, placement, queueing, prices and spot settings, never the workload,
queues, seed or horizon: every variant runs the very same arrivals.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from gpuplane.catalog import lookup
from gpuplane.cluster.spec import NodePool
from gpuplane.cluster.spec_base import FieldError, Model, checked
from gpuplane.errors import InputError
from gpuplane.limits import MAX_SEED
from gpuplane.objects.scheduling import TaintEffect
from gpuplane.placement import DEFAULT_PROFILE, PROFILES
from gpuplane.sim.twin.spec_workload import (
    ArrivalSpec,
    FailureSpec,
    KindSpec,
    QueueingSpec,
    check_arrivals,
    seconds,
)

HOUR = 3600.0
SLUG = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
CAPACITY_TYPE_LABEL = "karpenter.sh/capacity-type"

#: What a variant may override; the rest is the experiment's fixed ground.
VARIANT_FIELDS = ("name", "description", "cluster", "placement", "queueing", "prices", "spot")


def _gpu_model(name: str) -> str:
    return checked(lookup, name).product


def _policy(name: str) -> str:
    if name not in PROFILES:
        known = ", ".join(sorted(PROFILES))
        message = f"unknown placement policy {name!r}"
        raise FieldError(InputError(message, hint=f"choose one of: {known}"))
    return name


GpuModelName = Annotated[str, AfterValidator(_gpu_model)]
Price = Annotated[float, Field(ge=0)]


class TwinPool(NodePool):
    """A node pool of the cluster spec, bought on demand or as spot capacity."""

    capacity_type: Literal["on-demand", "spot"] = "on-demand"


class TwinCluster(Model):
    """The cluster: node pools inline, or a file or directory of Node manifests."""

    name: str = "cluster"
    node_pools: list[TwinPool] | None = None
    nodes: str | None = Field(
        default=None, description="a cluster spec file, or Node manifests (file or directory)"
    )

    @model_validator(mode="after")
    def _one_source(self) -> TwinCluster:
        if (self.node_pools is None) == (self.nodes is None):
            raise ValueError("give either nodePools or nodes (a file or directory of Nodes)")
        names = [p.name for p in self.node_pools or ()]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"pool names must be unique: {', '.join(dupes)}")
        return self


class TolerationSpec(Model):
    key: str = ""
    operator: Literal["Equal", "Exists"] = "Equal"
    value: str = ""
    effect: TaintEffect | None = None


class TwinKind(KindSpec):
    """A kind of work (`spec_workload.KindSpec`), where it may run, how busy it keeps GPUs."""

    node_selector: dict[str, str] = Field(default_factory=dict)
    tolerations: list[TolerationSpec] = Field(default_factory=list)
    #: Share of one whole GPU's compute the work keeps busy while it runs (SM activity).
    utilization: float = Field(default=1.0, gt=0, le=1)


class TraceSpec(Model):
    """Tasks of an openb pod list (Alibaba's GPU trace), replayed at their creation times."""

    openb: str
    limit: int | None = Field(default=None, gt=0)
    queue: str = "default"
    #: A CSV with a `runtime` column (seconds) for tasks whose true duration is unknown.
    durations: str | None = None


class TwinWorkload(Model):
    kinds: dict[str, TwinKind] = Field(default_factory=dict)
    arrivals: list[ArrivalSpec] = Field(default_factory=list)
    manifests: list[str] = Field(default_factory=list)
    trace: TraceSpec | None = None

    @model_validator(mode="after")
    def _something_arrives(self) -> TwinWorkload:
        if not (self.arrivals or self.manifests or self.trace):
            raise ValueError("the workload is empty: give arrivals, manifests or a trace")
        check_arrivals(list(self.arrivals), dict(self.kinds))
        return self


class PricesSpec(Model):
    """Overrides of the default price table (`prices.yaml`)."""

    on_demand: dict[GpuModelName, Price] = Field(default_factory=dict)
    spot_discount: float | None = Field(default=None, ge=0, lt=1)


class SpotSpec(Model):
    """How spot capacity behaves: interruptions per node and day, and the replacement delay."""

    interruptions_per_node_day: float = Field(default=0.1, ge=0)
    replaced_after: float = 600.0

    @field_validator("replaced_after", mode="before")
    @classmethod
    def _delay(cls, value: Any) -> float:
        return seconds(value)


class TwinSpec(Model):
    """One complete scenario: the base, or a variant merged onto it."""

    name: str = Field(default="scenario", pattern=SLUG)
    description: str = ""
    seed: int = Field(default=0, ge=0, le=MAX_SEED)
    horizon: float = Field(default=24 * HOUR, gt=0)
    cluster: TwinCluster
    queues: list[str] = Field(min_length=1)
    workload: TwinWorkload
    failures: list[FailureSpec] = Field(default_factory=list)
    placement: str = DEFAULT_PROFILE
    queueing: QueueingSpec = Field(default_factory=QueueingSpec)
    prices: PricesSpec = Field(default_factory=PricesSpec)
    spot: SpotSpec = Field(default_factory=SpotSpec)

    @field_validator("horizon", mode="before")
    @classmethod
    def _horizon(cls, value: Any) -> float:
        return seconds(value)

    @field_validator("placement")
    @classmethod
    def _known_policy(cls, value: str) -> str:
        return _policy(value)


class VariantHead(Model):
    """A variant's own fields, checked before it is merged: a name and what it overrides."""

    name: str = Field(pattern=SLUG)
    description: str = ""
    cluster: dict[str, Any] | None = None
    placement: str | None = None
    queueing: dict[str, Any] | None = None
    prices: dict[str, Any] | None = None
    spot: dict[str, Any] | None = None
