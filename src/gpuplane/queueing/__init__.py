"""Admission: queues, quota with cohorts, fair sharing, preemption, gangs and backfill."""

from gpuplane.queueing.engine import (
    Admission,
    CycleResult,
    Eviction,
    Queueing,
    QueueingConfig,
)
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
    "pod_requests",
]
