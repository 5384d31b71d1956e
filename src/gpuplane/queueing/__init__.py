"""Admission: queues, quota with cohorts, fair sharing, preemption, gangs and backfill.

Split along Kueue's seams, each module one job:

* `engine`: the thin cycle (`Queueing`) that ties the parts together;
* `pending`: pending workloads per ClusterQueue (StrictFIFO / BestEffortFIFO, heads, wake-ups);
* `usage` and `quota`: admitted usage against the quota tree (cohorts, borrowing, lending)
  and namespace ResourceQuotas; `flavors`: which ResourceFlavor a workload gets;
* `gangs`: all-or-nothing placement of a workload's pods, always inside a state trial;
* `preemption`: the cheapest whole workloads to evict, searched on trials;
* `backfill`: a blocked gang's reservation and what may run before it;
* `refusals`: why a workload waits, typed; `outcomes`: what a cycle returns;
* `manifests`: Kueue objects and Volcano Queues/PodGroups -> the engine's config and workloads.
"""

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
