"""Workloads from Kubernetes manifests, and the admission setup from Kueue objects.

A Job is one workload with one PodSet of min(parallelism, completions) pods, Kueue's count;
a bare Pod is a workload of one pod. The LocalQueue is the `kueue.x-k8s.io/queue-name` label
(or the older annotation of that name); the priority is that of the
`kueue.x-k8s.io/priority-class` WorkloadPriorityClass, else the pod's PriorityClass, else the
global default PriorityClass, else 0. How long a workload runs and how often it checkpoints
are its `gpuplane.io/duration` and `gpuplane.io/checkpoint-interval` annotations (`SimHints`).
Manifests carry no submission times: the workloads arrive in file order, from `at` on, one
every `spacing` seconds.
"""

from __future__ import annotations

from gpuplane.errors import InputError
from gpuplane.objects.job import Job
from gpuplane.objects.pod import Pod
from gpuplane.objects.queues import queue_name, workload_priority_class
from gpuplane.objects.reader import Manifests
from gpuplane.queueing import PodSet, QueueingConfig, Workload


def queueing_config(manifests: Manifests) -> QueueingConfig:
    """The admission setup the manifests' Kueue objects describe, with the engine's defaults.

    Change the engine's options with `dataclasses.replace(config, fair_sharing=True, ...)`.
    """
    if not manifests.cluster_queues:
        raise InputError(
            "no ClusterQueue in the manifests",
            hint="add kueue.x-k8s.io/v1beta1 ClusterQueue and LocalQueue objects",
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
    """The manifests' Jobs and bare Pods as workloads, arriving in file order from `at`."""
    priorities = _Priorities(manifests)
    out: list[Workload] = []
    for obj in manifests.workloads:
        created = at + spacing * len(out)
        if isinstance(obj, Job):
            w = job_workload(obj, priorities.of(obj, obj.template), created)
        else:
            w = pod_workload(obj, priorities.of(obj, obj), created)
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
