"""Workloads without a queue name beside Kueue: not managed by it, as Kueue does by default.

Kueue only suspends (and so manages) a Job that names a LocalQueue, unless its Configuration
sets `manageJobsWithoutQueueName: true`; the others go straight to kube-scheduler and run as
soon as their pods fit, with no quota. The twin models them as one more ClusterQueue,
`(unmanaged)`, with no cohort and a quota nothing reaches: they wait only for room, hold no
one's quota, and show in the report as a queue of their own. Its name cannot be a Kubernetes
name, so it never clashes with the user's queues.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from gpuplane.objects.queues import (
    ClusterQueue,
    FlavorQuotas,
    LocalQueue,
    ResourceFlavor,
    ResourceGroup,
    ResourceQuotaSpec,
)
from gpuplane.queueing import QueueingConfig, Workload
from gpuplane.queueing.workload import pod_requests

UNMANAGED = "(unmanaged)"
#: More than any cluster holds of anything (milli-GPU, MiB, millicores), far below overflow.
_UNBOUNDED = 10**15


def unmanaged(workloads: Sequence[Workload]) -> list[Workload]:
    """The workloads that name no queue."""
    return [w for w in workloads if not w.queue]


def with_unmanaged(config: QueueingConfig, workloads: Sequence[Workload]) -> QueueingConfig:
    """`config` with the `(unmanaged)` queue for the workloads without a queue name, if any.

    Only beside Kueue: Volcano's config has its own rules for such pods.
    """
    loose = unmanaged(workloads)
    if not loose or config.volcano_queues or not config.cluster_queues:
        return config
    resources = sorted({r for w in loose for ps in w.pod_sets for r in pod_requests(ps.template)})
    quotas = {r: ResourceQuotaSpec(nominal=_UNBOUNDED) for r in resources}
    queue = ClusterQueue(
        name=UNMANAGED,
        resource_groups=(ResourceGroup(tuple(resources), (FlavorQuotas(UNMANAGED, quotas),)),),
    )
    namespaces = sorted({w.namespace for w in loose})
    return replace(
        config,
        cluster_queues=(*config.cluster_queues, queue),
        local_queues=(*config.local_queues, *(LocalQueue("", ns, UNMANAGED) for ns in namespaces)),
        flavors=(*config.flavors, ResourceFlavor(UNMANAGED)),
    )
