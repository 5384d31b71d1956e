"""Admission: queues, quota with cohorts, fair sharing, preemption, gangs and backfill."""

from gpuplane.queueing.engine import (
    Admission,
    CycleResult,
    Eviction,
    Queueing,
    QueueingConfig,
)
from gpuplane.queueing.manifests import manifest_workloads, queueing_config, volcano_config
from gpuplane.queueing.quota import QuotaTree
from gpuplane.queueing.workload import PodSet, Workload, pod_requests

__all__ = [
    "Admission",
    "CycleResult",
    "Eviction",
    "PodSet",
    "Queueing",
    "QueueingConfig",
    "QuotaTree",
    "Workload",
    "manifest_workloads",
    "pod_requests",
    "queueing_config",
    "volcano_config",
]
