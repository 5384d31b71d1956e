"""Volcano's Queues and PodGroups in the same admission engine as Kueue's objects.

Volcano's proportion plugin divides the cluster among queues by weight and lets a queue use
idle capacity up to its `capability`, reclaiming what others borrowed when it needs its
`deserved` share back. In the engine's terms every Volcano queue becomes a ClusterQueue in one
cohort (`volcano`), with one flavor covering the resources the queues name:

* nominal quota = `deserved` (0 where unset: the queue lives on borrowed capacity),
* borrowing limit = `capability` - `deserved` (unbounded where no capability is set),
* lending limit = `deserved` - `guarantee` (the guaranteed part is never lent),
* fair-sharing weight = `weight`, and reclaimWithinCohort = Any for reclaimable queues
  (Volcano reclaims borrowed resources for a queue below its deserved share).

A PodGroup is one gang workload of the pods that name it (`scheduling.k8s.io/group-name`);
gpuplane admits all of its pods together (Volcano would start it once `minMember` can run —
for a group whose members are all needed, the same thing).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from gpuplane.objects.pod import Pod
from gpuplane.objects.queues import (
    VOLCANO_GROUP_ANNOTATION,
    ClusterQueue,
    FlavorQuotas,
    LocalQueue,
    PodGroup,
    Preemption,
    ReclaimWithinCohort,
    ResourceFlavor,
    ResourceGroup,
    ResourceQuotaSpec,
    VolcanoQueue,
)
from gpuplane.queueing.engine import QueueingConfig
from gpuplane.queueing.workload import PodSet, Workload, pod_requests

COHORT = "volcano"
FLAVOR = "volcano-default"
#: Where a queue names no amount for a resource its pods use: effectively unlimited.
UNLIMITED = 1 << 50


def _cluster_queue(queue: VolcanoQueue, resources: Sequence[str]) -> ClusterQueue:
    quotas = {}
    for r in resources:
        deserved = queue.deserved.get(r)
        capability = queue.capability.get(r)
        nominal = deserved if deserved is not None else (0 if capability is not None else UNLIMITED)
        borrowing = None if capability is None else max(0, capability - nominal)
        guarantee = queue.guarantee.get(r, 0)
        lending = max(0, nominal - guarantee) if guarantee else None
        quotas[r] = ResourceQuotaSpec(nominal, borrowing, lending)
    group = ResourceGroup(tuple(resources), (FlavorQuotas(FLAVOR, quotas),))
    reclaim = ReclaimWithinCohort.ANY if queue.reclaimable else ReclaimWithinCohort.NEVER
    return ClusterQueue(
        name=queue.name,
        resource_groups=(group,),
        cohort=COHORT,
        preemption=Preemption(reclaim_within_cohort=reclaim),
        fair_weight=float(queue.weight),
    )


def volcano_config(
    queues: Sequence[VolcanoQueue], pods: Iterable[Pod], namespaces: Iterable[str]
) -> QueueingConfig:
    """An engine config for Volcano queues: a ClusterQueue each, open to every namespace."""
    used: set[str] = set()
    for pod in pods:
        used |= set(pod_requests(pod))
    for q in queues:
        used |= set(q.capability) | set(q.deserved)
    resources = sorted(used)
    cluster_queues = [_cluster_queue(q, resources) for q in queues]
    local = [LocalQueue(q.name, ns, q.name) for ns in sorted(set(namespaces)) for q in queues]
    return QueueingConfig(
        cluster_queues=cluster_queues,
        local_queues=local,
        flavors=(ResourceFlavor(FLAVOR),),
        fair_sharing=True,
    )


def pod_group_workloads(
    groups: Sequence[PodGroup], pods: Sequence[Pod], created: float = 0.0
) -> list[Workload]:
    """One workload per PodGroup, of the pods that carry its group-name annotation."""
    members: dict[tuple[str, str], list[Pod]] = {}
    for pod in pods:
        group = pod.annotations.get(VOLCANO_GROUP_ANNOTATION)
        if group:
            members.setdefault((pod.namespace, group), []).append(pod)
    out = []
    for g in groups:
        group_pods = members.get((g.namespace, g.name), [])
        if not group_pods:
            continue
        out.append(
            Workload(
                key=f"{g.namespace}/{g.name}",
                namespace=g.namespace,
                queue=g.queue,
                pod_sets=tuple(PodSet(p.name, p) for p in group_pods),
                priority=group_pods[0].priority or 0,
                created=created,
            )
        )
    return out
