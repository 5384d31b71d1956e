"""Reading gpuplane's simulator annotations onto Pods and Jobs after Kubernetes' own fields."""

from __future__ import annotations

from dataclasses import replace

from gpuplane.objects.hints import (
    CHECKPOINT_INTERVAL_ANNOTATION,
    DURATION_ANNOTATION,
    SimHints,
)
from gpuplane.objects.job import Job
from gpuplane.objects.pod import Pod
from gpuplane.objects.read_duration import read_duration
from gpuplane.objects.yamlio import Field


def read_sim_hints(annotations: Field) -> SimHints:
    """gpuplane.io/duration and gpuplane.io/checkpoint-interval from metadata.annotations."""
    duration_field = annotations[DURATION_ANNOTATION]
    interval_field = annotations[CHECKPOINT_INTERVAL_ANNOTATION]
    duration = read_duration(duration_field) if duration_field.present else None
    interval = read_duration(interval_field) if interval_field.present else None
    if interval is not None and interval <= 0:
        # Zero would mean checkpointing continuously; nobody means that.
        raise interval_field.error(
            f"must be longer than zero, got {interval_field.value!r}",
            hint="leave the annotation out for a workload that never checkpoints",
        )
    return SimHints(duration=duration, checkpoint_interval=interval)


def pod_with_hints(pod: Pod, root: Field) -> Pod:
    """A Pod read from `root`, with its simulator hints."""
    return replace(pod, sim=read_sim_hints(root["metadata"]["annotations"]))


def job_with_hints(job: Job, root: Field) -> Job:
    """A Job read from `root`, with its annotations and simulator hints.

    A hint on the Job wins over the same hint on its pod template; the template (and so every
    pod the Job makes) carries the merged hints, so a pod knows how long it runs.
    """
    annotations = root["metadata"]["annotations"]
    template = root["spec"]["template"]["metadata"]["annotations"]
    hints = read_sim_hints(annotations).or_else(read_sim_hints(template))
    return replace(
        job,
        annotations=annotations.string_map(),
        sim=hints,
        template=replace(job.template, sim=hints),
    )
