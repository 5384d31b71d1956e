"""Kubernetes objects as the brain sees them, and reading them from manifests.

`read_manifests(paths)` reads Pods, Jobs, Nodes, PriorityClasses, ResourceQuotas, NVIDIA
device plugin ConfigMaps, Kueue's ClusterQueues, LocalQueues, ResourceFlavors,
WorkloadPriorityClasses and Cohorts, and Volcano's Queues and PodGroups from YAML files into the
frozen dataclasses below, all or nothing: a bad manifest raises an `InputError` that names
file:line and the field path. Device plugin ConfigMaps become the sharing model's
`gpuplane.sharing.DevicePluginConfigMap`.
"""

from gpuplane.objects.gpu_request import NO_GPU, GpuKind, GpuRequest
from gpuplane.objects.hints import (
    CHECKPOINT_INTERVAL_ANNOTATION,
    DURATION_ANNOTATION,
    SimHints,
)
from gpuplane.objects.job import Job
from gpuplane.objects.node import Node
from gpuplane.objects.pod import Pod
from gpuplane.objects.policy import PriorityClass, ResourceQuota
from gpuplane.objects.queues import (
    PRIORITY_CLASS_LABEL,
    QUEUE_NAME_LABEL,
    VOLCANO_GROUP_ANNOTATION,
    BorrowWithinCohort,
    ClusterQueue,
    Cohort,
    FlavorQuotas,
    LocalQueue,
    PodGroup,
    Preemption,
    QueueingStrategy,
    ReclaimWithinCohort,
    ResourceFlavor,
    ResourceGroup,
    ResourceQuotaSpec,
    VolcanoQueue,
    WithinClusterQueue,
    WorkloadPriorityClass,
    queue_name,
    workload_priority_class,
)
from gpuplane.objects.read_duration import read_duration
from gpuplane.objects.read_quota import quota_amount
from gpuplane.objects.reader import Manifests, read_api_objects, read_manifests, read_text
from gpuplane.objects.scheduling import (
    NodeAffinity,
    NodeSelectorRequirement,
    NodeSelectorTerm,
    SelectorOperator,
    Taint,
    TaintEffect,
    Toleration,
)

__all__ = [
    "CHECKPOINT_INTERVAL_ANNOTATION",
    "DURATION_ANNOTATION",
    "NO_GPU",
    "PRIORITY_CLASS_LABEL",
    "QUEUE_NAME_LABEL",
    "VOLCANO_GROUP_ANNOTATION",
    "BorrowWithinCohort",
    "ClusterQueue",
    "Cohort",
    "FlavorQuotas",
    "GpuKind",
    "GpuRequest",
    "Job",
    "LocalQueue",
    "Manifests",
    "Node",
    "NodeAffinity",
    "NodeSelectorRequirement",
    "NodeSelectorTerm",
    "Pod",
    "PodGroup",
    "Preemption",
    "PriorityClass",
    "QueueingStrategy",
    "ReclaimWithinCohort",
    "ResourceFlavor",
    "ResourceGroup",
    "ResourceQuota",
    "ResourceQuotaSpec",
    "SelectorOperator",
    "SimHints",
    "Taint",
    "TaintEffect",
    "Toleration",
    "VolcanoQueue",
    "WithinClusterQueue",
    "WorkloadPriorityClass",
    "queue_name",
    "quota_amount",
    "read_api_objects",
    "read_duration",
    "read_manifests",
    "read_text",
    "workload_priority_class",
]
