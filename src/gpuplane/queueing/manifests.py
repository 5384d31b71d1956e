"""Kueue and Volcano objects turned into the engine's admission setup and workloads.

This is the one road from manifests to admission, for every world: the simulator reads files
through it, and the live adapter will hand it what it watches.

Kueue: ClusterQueues, LocalQueues, ResourceFlavors, Cohorts and namespace ResourceQuotas are
the config as they are. Volcano: see below; a scenario uses one system or the other, not both.

A Job is one workload with one PodSet of min(parallelism, completions) pods, Kueue's count;
a bare Pod is a workload of one pod; the pods that name a PodGroup
(`scheduling.k8s.io/group-name`) are together one gang workload in the PodGroup's queue. The
LocalQueue is the `kueue.x-k8s.io/queue-name` label (or the older annotation of that name);
the priority is that of the `kueue.x-k8s.io/priority-class` WorkloadPriorityClass, else the
pod's PriorityClass, else the global default PriorityClass, else 0 (a PodGroup's own
priorityClassName comes first for its gang). How long a workload runs and how often it
checkpoints are its `gpuplane.io/duration` and `gpuplane.io/checkpoint-interval` annotations
(`SimHints`). Manifests carry no submission times: the workloads arrive in file order, from
`at` on, one every `spacing` seconds; a gang arrives where its first member is.

Volcano's proportion plugin divides the cluster among queues by weight and lets a queue use
idle capacity up to its `capability`; with the reclaim action in the scheduler's configuration
(not in Volcano's default one) a queue below its deserved share takes back what others
borrowed. In the engine's terms every Volcano queue becomes a ClusterQueue in one cohort
(`volcano`), with one flavor covering the resources the queues name:

* nominal quota = `deserved`, or where unset the queue's weight's share of the cluster
  (`proportion`, resolved from the cluster's capacity when the engine starts),
* borrowing limit = `capability` - nominal (unbounded where no capability is set),
* lending limit = nominal - `guarantee` (the guaranteed part is never lent),
* fair-sharing weight = `weight`; with the reclaim action, reclaimWithinCohort = Any for
  reclaimable queues and fair-share preemption; without it, no preemption across queues.

A PodGroup whose minMember is below its pod count is elastic: it starts once minMember of its
pods can run, and the others join as room appears (its quota is held for all of its pods).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from gpuplane.errors import InputError
from gpuplane.objects.job import Job
from gpuplane.objects.pod import Pod
from gpuplane.objects.queues import (
    VOLCANO_GROUP_ANNOTATION,
    ClusterQueue,
    LocalQueue,
    PodGroup,
    Preemption,
    ReclaimWithinCohort,
    ResourceFlavor,
    ResourceGroup,
    VolcanoQueue,
    VolcanoSchedulerConfig,
    queue_name,
    workload_priority_class,
)
from gpuplane.objects.reader import Manifests
from gpuplane.queueing.engine import QueueingConfig
from gpuplane.queueing.proportion import FLAVOR, deserved_shares, volcano_group
from gpuplane.queueing.workload import PodSet, Workload, pod_requests

COHORT = "volcano"


def _cluster_queue(queue: VolcanoQueue, group: ResourceGroup, reclaim: bool) -> ClusterQueue:
    policy = ReclaimWithinCohort.ANY if queue.reclaimable and reclaim else ReclaimWithinCohort.NEVER
    return ClusterQueue(
        name=queue.name,
        resource_groups=(group,),
        cohort=COHORT,
        preemption=Preemption(reclaim_within_cohort=policy),
        fair_weight=float(queue.weight),
    )


def volcano_config(
    queues: Sequence[VolcanoQueue],
    pods: Iterable[Pod],
    namespaces: Iterable[str],
    scheduler: VolcanoSchedulerConfig | None = None,
) -> QueueingConfig:
    """An engine config for Volcano queues: a ClusterQueue each, open to every namespace.

    Shares by weight are resolved from the cluster's capacity when the engine starts.
    """
    used: set[str] = set()
    for pod in pods:
        used |= set(pod_requests(pod))
    for q in queues:
        used |= set(q.capability) | set(q.deserved)
    resources = sorted(used)
    reclaims = (scheduler or VolcanoSchedulerConfig()).reclaims
    stated = deserved_shares(queues, resources, {})
    cluster_queues = [
        _cluster_queue(q, volcano_group(q, resources, stated[q.name]), reclaims) for q in queues
    ]
    local = [LocalQueue(q.name, ns, q.name) for ns in sorted(set(namespaces)) for q in queues]
    return QueueingConfig(
        cluster_queues=cluster_queues,
        local_queues=local,
        flavors=(ResourceFlavor(FLAVOR),),
        fair_sharing=True,
        fair_preemption=reclaims,
        volcano_queues=tuple(queues),
    )


def queueing_config(manifests: Manifests, workloads: Sequence[Workload] = ()) -> QueueingConfig:
    """The admission setup the manifests' Kueue or Volcano objects describe.

    Volcano queues are open to every namespace and cover every resource of `workloads` (the
    ones that will be submitted), as Volcano's are. Change the engine's options with
    `dataclasses.replace(config, fair_sharing=True, ...)`.
    """
    if manifests.cluster_queues and manifests.volcano_queues:
        where = manifests.volcano_queues[0].source
        raise InputError(
            "the manifests hold both Kueue ClusterQueues and Volcano Queues",
            where=where,
            hint="admission is set up by one of them: keep the Kueue objects or the Volcano ones",
        )
    if manifests.volcano_queues:
        pods = [ps.template for w in workloads for ps in w.pod_sets]
        namespaces = {w.namespace for w in workloads} | {g.namespace for g in manifests.pod_groups}
        scheduler = manifests.volcano_scheduler[-1] if manifests.volcano_scheduler else None
        return volcano_config(manifests.volcano_queues, pods, namespaces or {"default"}, scheduler)
    if not manifests.cluster_queues:
        raise InputError(
            "no ClusterQueue or Volcano Queue in the manifests",
            hint="add kueue.x-k8s.io/v1beta2 (or v1beta1) ClusterQueue and LocalQueue objects, "
            "or scheduling.volcano.sh/v1beta1 Queues",
        )
    return QueueingConfig(
        cluster_queues=tuple(manifests.cluster_queues),
        local_queues=tuple(manifests.local_queues),
        flavors=tuple(manifests.resource_flavors),
        cohorts=tuple(manifests.cohorts),
        resource_quotas=tuple(manifests.resource_quotas),
    )


def manifest_workloads(
    manifests: Manifests, *, at: float = 0.0, spacing: float = 0.0
) -> list[Workload]:
    """The manifests' Jobs, bare Pods and PodGroups as workloads, arriving in file order."""
    priorities = _Priorities(manifests)
    groups = {(g.namespace, g.name): g for g in manifests.pod_groups}
    members: dict[tuple[str, str], list[Pod]] = {}
    order: list[Pod | Job | PodGroup] = []
    for obj in manifests.workloads:
        group = obj.annotations.get(VOLCANO_GROUP_ANNOTATION) if isinstance(obj, Pod) else None
        if isinstance(obj, Pod) and group:
            key = (obj.namespace, group)
            if key not in groups:
                raise InputError(
                    f"pod {obj.key} names PodGroup {group}, which is not in the manifests",
                    where=obj.source,
                    hint="add the scheduling.volcano.sh/v1beta1 PodGroup, or remove the "
                    f"{VOLCANO_GROUP_ANNOTATION} annotation",
                )
            if key not in members:
                order.append(groups[key])
            members.setdefault(key, []).append(obj)
        else:
            order.append(obj)
    out: list[Workload] = []
    for item in order:
        created = at + spacing * len(out)
        if isinstance(item, PodGroup):
            pods = members[(item.namespace, item.name)]
            w = pod_group_workload(item, pods, priorities.of_group(item, pods[0]), created)
        elif isinstance(item, Job):
            w = job_workload(item, priorities.of(item, item.template), created)
        else:
            w = pod_workload(item, priorities.of(item, item), created)
        if w.pod_count:
            out.append(w)
    return out


def job_workload(job: Job, priority: int, created: float) -> Workload:
    """A Job as one workload: one PodSet of the pods the Job runs at once."""
    count = job.parallelism if job.completions is None else min(job.parallelism, job.completions)
    return Workload(
        key=f"{job.namespace}/{job.name}",
        namespace=job.namespace,
        queue=queue_name(job) or "",
        pod_sets=(PodSet("main", job.template, count),),
        priority=priority,
        created=created,
        duration=job.sim.duration,
        checkpoint_interval=job.sim.checkpoint_interval,
        labels=dict(job.labels),
    )


def pod_workload(pod: Pod, priority: int, created: float) -> Workload:
    """A bare Pod as a workload of one pod."""
    return Workload(
        key=pod.key,
        namespace=pod.namespace,
        queue=queue_name(pod) or "",
        pod_sets=(PodSet("main", pod, 1),),
        priority=priority,
        created=created,
        duration=pod.sim.duration,
        checkpoint_interval=pod.sim.checkpoint_interval,
        labels=dict(pod.labels),
    )


def pod_group_workload(
    group: PodGroup, pods: Sequence[Pod], priority: int, created: float
) -> Workload:
    """A PodGroup as one gang workload of its member pods, in the PodGroup's queue.

    It runs as long as its longest-running member says (its `gpuplane.io/duration`).
    """
    durations = [p.sim.duration for p in pods if p.sim.duration is not None]
    intervals = [p.sim.checkpoint_interval for p in pods if p.sim.checkpoint_interval]
    return Workload(
        key=f"{group.namespace}/{group.name}",
        namespace=group.namespace,
        queue=group.queue,
        pod_sets=tuple(PodSet(p.name, p) for p in pods),
        priority=priority,
        created=created,
        duration=max(durations) if durations else None,
        checkpoint_interval=min(intervals) if intervals else None,
        labels=dict(pods[0].labels),
        min_pods=group.min_member if group.min_member < len(pods) else None,
    )


class _Priorities:
    """Resolves a workload's priority from the manifests' priority classes."""

    def __init__(self, manifests: Manifests) -> None:
        self.workload = {c.name: c.value for c in manifests.workload_priority_classes}
        self.pod = {c.name: c.value for c in manifests.priority_classes}
        defaults = [c.value for c in manifests.priority_classes if c.global_default]
        self.default = defaults[0] if defaults else 0

    def of(self, obj: Pod | Job, pod: Pod) -> int:
        """`obj`'s priority; `pod` is the pod it runs (itself, or a Job's template)."""
        name = workload_priority_class(obj) or workload_priority_class(pod)
        if name is not None and name in self.workload:
            return self.workload[name]
        if pod.priority is not None:
            return pod.priority
        if pod.priority_class_name is not None and pod.priority_class_name in self.pod:
            return self.pod[pod.priority_class_name]
        return self.default

    def of_group(self, group: PodGroup, first: Pod) -> int:
        """A PodGroup's priority: its own PriorityClass, else its first member's."""
        if group.priority_class_name is not None and group.priority_class_name in self.pod:
            return self.pod[group.priority_class_name]
        return self.of(first, first)
