"""What runs, what waits, and what finished: a snapshot's pods and Jobs sorted by state.

A pod bound to a node and not terminal runs; a pod with no node waits, unless a waiting Job
owns it (the Job is the workload then). A Job that is not finished and none of whose pods run
waits as a whole (Kueue's suspended Jobs among them). Finished Jobs, and finished pods that no
Job owns, are the history the workload model is fitted from (`history`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from gpuplane.errors import InputError
from gpuplane.live.reflector import Obj
from gpuplane.live.snapshot.clean import clean_job, clean_pod
from gpuplane.live.snapshot.collect import Collected
from gpuplane.live.snapshot.history import Sample, shape_of
from gpuplane.objects import Job, Pod, queue_name, read_api_objects

TERMINAL = ("Succeeded", "Failed")
#: (namespace, the queue a workload names or None) -> the queue it goes to in the scenario.
Resolve = Callable[[str, str | None], str]


def timestamp(value: object) -> float | None:
    """Seconds since the epoch of an RFC 3339 time as the API writes it; None if absent."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def owner_job(pod: Obj) -> tuple[str, str] | None:
    meta = pod.get("metadata") or {}
    for owner in meta.get("ownerReferences") or []:
        if owner.get("kind") == "Job":
            return (str(meta.get("namespace") or ""), str(owner.get("name") or ""))
    return None


def key_of(obj: Obj) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return (str(meta.get("namespace") or ""), str(meta.get("name") or ""))


def job_finished(job: Obj) -> float | None:
    """When a Job completed or failed; None while it has not."""
    status = job.get("status") or {}
    for condition in status.get("conditions") or []:
        if condition.get("type") in ("Complete", "Failed") and condition.get("status") == "True":
            done = timestamp(status.get("completionTime"))
            return done if done is not None else timestamp(condition.get("lastTransitionTime"))
    return None


def pod_finished(pod: Obj) -> float | None:
    """When the last container of a finished pod ended."""
    ends = [
        timestamp(((c.get("state") or {}).get("terminated") or {}).get("finishedAt"))
        for c in (pod.get("status") or {}).get("containerStatuses") or []
    ]
    known = [t for t in ends if t is not None]
    return max(known) if known else None


@dataclass
class Classified:
    running: list[Obj] = field(default_factory=list)
    pending_pods: list[Obj] = field(default_factory=list)
    pending_jobs: list[Obj] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    #: Finished workloads left out of the model (no times, or a shape it omits).
    skipped: int = 0


def classify(collected: Collected, resolve: Resolve) -> Classified:
    out = Classified()
    pods = collected.of("Pod")
    running_jobs = set()
    for pod in pods:
        phase = (pod.get("status") or {}).get("phase") or "Pending"
        if (pod.get("spec") or {}).get("nodeName") and phase not in TERMINAL:
            out.running.append(pod)
            owner = owner_job(pod)
            if owner is not None:
                running_jobs.add(owner)
    waiting_jobs: set[tuple[str, str]] = set()
    for job in collected.of("Job"):
        if job_finished(job) is not None:
            _job_sample(job, resolve, out)
        elif key_of(job) not in running_jobs:
            out.pending_jobs.append(job)
            waiting_jobs.add(key_of(job))
    for pod in pods:
        phase = (pod.get("status") or {}).get("phase") or "Pending"
        owner = owner_job(pod)
        if phase in TERMINAL:
            if owner is None:
                _pod_sample(pod, resolve, out)
        elif not (pod.get("spec") or {}).get("nodeName") and (
            owner is None or (owner not in waiting_jobs and owner not in running_jobs)
        ):
            out.pending_pods.append(pod)
    out.running.sort(key=_started)
    out.pending_jobs.sort(key=_created)
    out.pending_pods.sort(key=_created)
    return out


def _started(pod: Obj) -> tuple[float, tuple[str, str]]:
    return (timestamp((pod.get("status") or {}).get("startTime")) or 0.0, key_of(pod))


def _created(obj: Obj) -> tuple[float, tuple[str, str]]:
    return (timestamp((obj.get("metadata") or {}).get("creationTimestamp")) or 0.0, key_of(obj))


def _job_sample(job: Obj, resolve: Resolve, out: Classified) -> None:
    created = timestamp((job.get("metadata") or {}).get("creationTimestamp"))
    start = timestamp((job.get("status") or {}).get("startTime"))
    end = job_finished(job)
    try:
        (read,) = read_api_objects([clean_job(job)]).jobs
    except (InputError, ValueError):
        read = None
    if read is None or created is None or start is None or end is None:
        out.skipped += 1
        return
    count = min(read.parallelism, read.completions or read.parallelism)
    _sample(read, read.template, max(count, 1), created, end - start, resolve, out)


def _pod_sample(pod: Obj, resolve: Resolve, out: Classified) -> None:
    created = timestamp((pod.get("metadata") or {}).get("creationTimestamp"))
    start = timestamp((pod.get("status") or {}).get("startTime"))
    end = pod_finished(pod)
    try:
        (read,) = read_api_objects([clean_pod(pod, None)]).pods
    except (InputError, ValueError):
        read = None
    if read is None or created is None or start is None or end is None:
        out.skipped += 1
        return
    _sample(read, read, 1, created, end - start, resolve, out)


def _sample(
    owner: Job | Pod,
    pod: Pod,
    count: int,
    created: float,
    duration: float,
    resolve: Resolve,
    out: Classified,
) -> None:
    shape = shape_of(pod, count)
    if shape is None or duration <= 0:
        out.skipped += 1
        return
    out.samples.append(
        Sample(
            namespace=owner.namespace,
            queue=resolve(owner.namespace, queue_name(owner)),
            created=created,
            duration=duration,
            shape=shape,
            cpu_milli=pod.cpu_milli,
            memory_mib=pod.memory_mib,
        )
    )
