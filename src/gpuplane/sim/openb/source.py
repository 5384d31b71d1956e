"""The openb trace replayed in time: each task arrives at its creation_time and runs a while.

`openb.reader` reads what placement needs of each task; this reads the time columns it leaves
out (`creation_time`, `deletion_time`, `scheduled_time`, `pod_phase`, and `qos`) and turns
the tasks into workloads of one pod. How long a task runs, per the trace's SCHEMA.md:

* a task that ended (`Succeeded` or `Failed`) and was scheduled ran from `scheduled_time` to
  `deletion_time`: its true duration;
* a `Running` task was still running when the trace was taken; its `deletion_time` is the
  snapshot's end, so it ran *at least* deletion - scheduled: its duration is drawn from the
  duration model among durations at least that long;
* a `Pending` task never ran: its duration is drawn from the model.

The multigpu* pod lists have no time columns and cannot be replayed in time.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gpuplane.errors import InputError, Location
from gpuplane.queueing import PodSet, Workload
from gpuplane.sim.core.durations import EmpiricalDurations
from gpuplane.sim.openb.reader import read_openb_pods

TIME_COLUMNS = ("name", "qos", "pod_phase", "creation_time", "deletion_time", "scheduled_time")
ENDED = ("Succeeded", "Failed")


@dataclass(frozen=True)
class TaskTimes:
    """A task's times in the trace (seconds), its phase when the trace was taken, its QoS."""

    qos: str
    phase: str
    created: float
    deleted: float
    scheduled: float | None


def read_openb_times(path: str | Path) -> dict[str, TaskTimes]:
    """The time columns of an openb pod list, by task name."""
    file = Path(path)
    try:
        handle = file.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", where=Location(str(file))) from None
    out: dict[str, TaskTimes] = {}
    with handle:
        reader = csv.DictReader(handle)
        missing = [c for c in TIME_COLUMNS if c not in (reader.fieldnames or ())]
        if missing:
            raise InputError(
                f"no time column(s) {', '.join(missing)}: this pod list cannot be replayed in time",
                where=Location(str(file), 1),
                hint="the multigpu* lists carry no times; use default, cpu*, gpushare* or gpuspec*",
            )
        for row in reader:
            where = Location(str(file), reader.line_num)
            out[row["name"]] = TaskTimes(
                qos=row["qos"],
                phase=row["pod_phase"],
                created=_seconds(row, "creation_time", where),
                deleted=_seconds(row, "deletion_time", where),
                scheduled=_seconds(row, "scheduled_time", where) if row["scheduled_time"] else None,
            )
    return out


def _seconds(row: Mapping[str, str], column: str, where: Location) -> float:
    try:
        value = float(row[column])
    except ValueError:
        raise InputError(f"not a time: {row[column]!r}", where=where.child(column)) from None
    if value < 0:
        raise InputError(f"a time before the trace's origin: {value}", where=where.child(column))
    return value


def task_duration(times: TaskTimes, model: EmpiricalDurations, rng: np.random.Generator) -> float:
    """How long a task runs: its true duration if it ended, else one drawn from `model`."""
    if times.scheduled is None:
        return model.sample(rng)
    ran = max(0.0, times.deleted - times.scheduled)
    if times.phase in ENDED:
        return ran
    return model.sample(rng, at_least=ran)


def openb_workloads(
    path: str | Path,
    model: EmpiricalDurations,
    rng: np.random.Generator,
    *,
    queue: str | Mapping[str, str] = "default",
    priority: Mapping[str, int] | None = None,
    checkpoint_interval: float | None = None,
    limit: int | None = None,
) -> list[Workload]:
    """The tasks of an openb pod list as workloads, in order of creation time.

    `queue` names the LocalQueue (in namespace `openb`) of every task, or maps a task's QoS
    class (LS, BE, Burstable, Guaranteed) to one; `priority` maps QoS to a priority.
    `limit` keeps the first tasks created. Durations draw from `rng`, one task at a time in
    creation order.
    """
    pods = read_openb_pods(path).pods
    times = read_openb_times(path)
    ordered = sorted(pods, key=lambda p: (times[p.name].created, p.name))
    if limit is not None:
        ordered = ordered[:limit]
    out = []
    for pod in ordered:
        t = times[pod.name]
        name = queue if isinstance(queue, str) else queue.get(t.qos, "default")
        out.append(
            Workload(
                key=pod.key,
                namespace=pod.namespace,
                queue=name,
                pod_sets=(PodSet("main", pod, 1),),
                priority=(priority or {}).get(t.qos, 0),
                created=t.created,
                duration=task_duration(t, model, rng),
                checkpoint_interval=checkpoint_interval,
            )
        )
    return out
