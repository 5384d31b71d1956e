"""Queueing objects users already write: Kueue's and Volcano's, as typed domain objects.

Quota amounts are in the brain's units, keyed by resource name: `cpu` in millicores, `memory`
in MiB, `nvidia.com/gpu` in milli-GPU (so that a fraction of a GPU counts what it takes), and
every other resource (MIG profiles, shared replicas, ...) as a whole count.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from gpuplane.errors import Location
from gpuplane.objects.job import Job
from gpuplane.objects.pod import Pod
from gpuplane.objects.scheduling import Taint, Toleration

#: The label (or annotation) that puts a Job or Pod into a Kueue LocalQueue.
QUEUE_NAME_LABEL = "kueue.x-k8s.io/queue-name"
#: Kueue's label naming a WorkloadPriorityClass.
PRIORITY_CLASS_LABEL = "kueue.x-k8s.io/priority-class"
#: Volcano's annotation tying a pod to its PodGroup.
VOLCANO_GROUP_ANNOTATION = "scheduling.k8s.io/group-name"


class QueueingStrategy(StrEnum):
    STRICT_FIFO = "StrictFIFO"  # the head blocks everything behind it
    BEST_EFFORT_FIFO = "BestEffortFIFO"  # an inadmissible head steps aside


class WithinClusterQueue(StrEnum):
    NEVER = "Never"
    LOWER_PRIORITY = "LowerPriority"
    LOWER_OR_NEWER_EQUAL_PRIORITY = "LowerOrNewerEqualPriority"


class ReclaimWithinCohort(StrEnum):
    NEVER = "Never"
    LOWER_PRIORITY = "LowerPriority"
    ANY = "Any"


class BorrowWithinCohort(StrEnum):
    NEVER = "Never"
    LOWER_PRIORITY = "LowerPriority"


class FungibilityPolicy(StrEnum):
    MAY_STOP_SEARCH = "MayStopSearch"  # v1beta1 also spells it Borrow / Preempt
    TRY_NEXT_FLAVOR = "TryNextFlavor"


@dataclass(frozen=True)
class FlavorFungibility:
    """ClusterQueue spec.flavorFungibility: whether borrowing or preempting in a flavor stops
    the search, or the next flavor is tried first. Defaults are Kueue's."""

    when_can_borrow: FungibilityPolicy = FungibilityPolicy.MAY_STOP_SEARCH
    when_can_preempt: FungibilityPolicy = FungibilityPolicy.TRY_NEXT_FLAVOR
    #: preference PreemptionOverBorrowing (else BorrowingOverPreemption, the default).
    preemption_over_borrowing: bool = False


@dataclass(frozen=True)
class Preemption:
    """ClusterQueue spec.preemption."""

    within_cluster_queue: WithinClusterQueue = WithinClusterQueue.NEVER
    reclaim_within_cohort: ReclaimWithinCohort = ReclaimWithinCohort.NEVER
    borrow_within_cohort: BorrowWithinCohort = BorrowWithinCohort.NEVER
    #: borrowWithinCohort.maxPriorityThreshold: only victims at or below it.
    borrow_max_priority_threshold: int | None = None


@dataclass(frozen=True)
class ResourceQuotaSpec:
    """One resource of one flavor: nominalQuota, borrowingLimit, lendingLimit (None: unlimited)."""

    nominal: int
    borrowing_limit: int | None = None
    lending_limit: int | None = None


@dataclass(frozen=True)
class FlavorQuotas:
    flavor: str
    resources: Mapping[str, ResourceQuotaSpec]


@dataclass(frozen=True)
class ResourceGroup:
    """Resources covered together: a workload takes all of them from one flavor of the group."""

    covered: tuple[str, ...]
    flavors: tuple[FlavorQuotas, ...]


@dataclass(frozen=True)
class ClusterQueue:
    name: str
    resource_groups: tuple[ResourceGroup, ...] = ()
    cohort: str | None = None
    queueing_strategy: QueueingStrategy = QueueingStrategy.BEST_EFFORT_FIFO
    preemption: Preemption = field(default_factory=Preemption)
    #: fairSharing.weight: a larger weight earns a larger share of what is borrowed.
    fair_weight: float = 1.0
    #: namespaceSelector.matchLabels; None admits every namespace (an empty selector in Kueue).
    namespace_selector: Mapping[str, str] | None = None
    #: True when the manifest has no spec.namespaceSelector at all: Kueue reads a missing
    #: selector as labels.Nothing(), so such a queue admits no workload from any namespace.
    admits_no_namespace: bool = False
    flavor_fungibility: FlavorFungibility = field(default_factory=FlavorFungibility)
    source: Location = field(default_factory=Location)

    def admits_namespace(self, labels: Mapping[str, str]) -> bool:
        """Whether a workload from a namespace with these labels may enter this queue."""
        if self.admits_no_namespace:
            return False
        selector = self.namespace_selector or {}
        return all(labels.get(key) == value for key, value in selector.items())


@dataclass(frozen=True)
class Cohort:
    """A (hierarchical) cohort: ClusterQueues and child cohorts lend to each other through it."""

    name: str
    parent: str | None = None
    resource_groups: tuple[ResourceGroup, ...] = ()
    fair_weight: float = 1.0
    source: Location = field(default_factory=Location)


@dataclass(frozen=True)
class LocalQueue:
    name: str
    namespace: str
    cluster_queue: str
    source: Location = field(default_factory=Location)


@dataclass(frozen=True)
class ResourceFlavor:
    """Which nodes a flavor's quota stands for: their labels, and the taints pods must tolerate."""

    name: str
    node_labels: Mapping[str, str] = field(default_factory=dict)
    node_taints: tuple[Taint, ...] = ()
    tolerations: tuple[Toleration, ...] = ()
    source: Location = field(default_factory=Location)


@dataclass(frozen=True)
class WorkloadPriorityClass:
    name: str
    value: int
    description: str = ""
    source: Location = field(default_factory=Location)


@dataclass(frozen=True)
class VolcanoQueue:
    """Volcano's Queue: a weight for proportional sharing, and caps on what it may hold."""

    name: str
    weight: int = 1
    capability: Mapping[str, int] = field(default_factory=dict)
    deserved: Mapping[str, int] = field(default_factory=dict)
    reclaimable: bool = True
    #: spec.guarantee.resource: reserved for this queue even when it is idle, never lent.
    guarantee: Mapping[str, int] = field(default_factory=dict)
    #: spec.parent of a hierarchical queue (None: a child of Volcano's `root`).
    parent: str | None = None
    #: spec.priority: a higher one is served first and reclaimed from last.
    priority: int = 0
    source: Location = field(default_factory=Location)


#: The actions of Volcano's default scheduler configuration (pkg/scheduler/util.go).
VOLCANO_DEFAULT_ACTIONS = ("enqueue", "allocate", "backfill")


@dataclass(frozen=True)
class VolcanoSchedulerConfig:
    """The `volcano-scheduler.conf` of Volcano's scheduler ConfigMap: the actions it runs."""

    actions: tuple[str, ...] = VOLCANO_DEFAULT_ACTIONS
    source: Location = field(default_factory=Location)

    @property
    def reclaims(self) -> bool:
        """Whether queues take back what they lent (the reclaim action)."""
        return "reclaim" in self.actions


@dataclass(frozen=True)
class PodGroup:
    """Volcano's PodGroup: the gang, run only when `min_member` pods can run together.

    `min_resources` is a demand, so unlike quota it rounds up (cpu in millicores, memory in MiB,
    nvidia.com/gpu in milli-GPU).
    """

    name: str
    namespace: str
    min_member: int = 1
    min_resources: Mapping[str, int] = field(default_factory=dict)
    queue: str = "default"
    priority_class_name: str | None = None
    source: Location = field(default_factory=Location)


def queue_name(workload: Pod | Job) -> str | None:
    """The LocalQueue a Job or Pod asks for: Kueue's queue-name label, else the old annotation."""
    # Kueue first read the name from an annotation; it still honours one where no label is set.
    name = workload.labels.get(QUEUE_NAME_LABEL) or workload.annotations.get(QUEUE_NAME_LABEL)
    return name or None


def workload_priority_class(workload: Pod | Job) -> str | None:
    """The WorkloadPriorityClass a Job or Pod names in Kueue's priority-class label, if any."""
    return workload.labels.get(PRIORITY_CLASS_LABEL) or None
