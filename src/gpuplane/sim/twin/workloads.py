"""The scenario's workloads: manifests, generated team arrivals and an openb trace.

Every variant gets the very same workloads, drawn once from the scenario's seed: the
manifests' Jobs, Pods and PodGroups first (arriving at time 0 in file order), then each
arrival process in the order written, then the trace.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from gpuplane.errors import InputError, Location
from gpuplane.objects.reader import Manifests
from gpuplane.objects.scheduling import Toleration
from gpuplane.queueing import Workload, manifest_workloads
from gpuplane.sim.core.durations import EmpiricalDurations, philly_durations
from gpuplane.sim.core.generators import Choice, Fixed, LogNormal, Team, WorkloadKind, generate
from gpuplane.sim.openb.source import openb_workloads
from gpuplane.sim.twin.spec import TwinKind, TwinSpec
from gpuplane.sim.twin.spec_workload import KindSpec

HOUR = 3600.0


def scenario_workloads(
    spec: TwinSpec, root: Path, manifests: Manifests
) -> tuple[tuple[Workload, ...], tuple[tuple[str, float], ...]]:
    """Every workload of the scenario, and the busy share of those that set one.

    `manifests` are the queue files' and workload manifests' objects, read together.
    """
    wl = spec.workload
    rng = np.random.default_rng(spec.seed)
    out: list[Workload] = []
    if wl.manifests:
        out += manifest_workloads(manifests)
    classes = {c.name: c.value for c in manifests.workload_priority_classes}
    kinds = {
        name: workload_kind(name, k, classes, f"workload.kinds.{name}")
        for name, k in wl.kinds.items()
    }
    for arrival in wl.arrivals:
        teams = [
            Team(
                t.namespace,
                t.queue,
                tuple(replace(kinds[k], weight=w) for k, w in t.kinds.items()),
                t.weight,
            )
            for t in arrival.teams
        ]
        generated = generate(
            teams,
            rng,
            count=arrival.count,
            rate=arrival.rate_per_hour / HOUR,
            start=arrival.start,
            prefix=arrival.name,
        )
        out += [_placed(w, wl.kinds[w.labels["kind"]]) for w in generated]
    if wl.trace is not None:
        trace = wl.trace
        durations = (
            philly_durations(root / trace.durations) if trace.durations else _philly_or_flat()
        )
        out += openb_workloads(
            root / trace.openb, durations, rng, queue=trace.queue, limit=trace.limit
        )
    busy = tuple(
        (w.key, wl.kinds[w.labels["kind"]].utilization)
        for w in out
        if w.labels.get("kind") in wl.kinds and wl.kinds[w.labels["kind"]].utilization != 1.0
    )
    return tuple(out), busy


def _philly_or_flat() -> EmpiricalDurations:
    try:
        return philly_durations()
    except InputError:
        return EmpiricalDurations([HOUR])  # no Philly data here: an hour each


def _placed(w: Workload, kind: TwinKind) -> Workload:
    """A generated workload with its kind's node selector and tolerations."""
    if not kind.node_selector and not kind.tolerations:
        return w
    tolerations = tuple(
        Toleration(key=t.key, operator=t.operator, value=t.value, effect=t.effect)
        for t in kind.tolerations
    )
    pod_sets = tuple(
        replace(
            ps,
            template=replace(
                ps.template,
                node_selector={**ps.template.node_selector, **kind.node_selector},
                tolerations=ps.template.tolerations + tolerations,
            ),
        )
        for ps in w.pod_sets
    )
    return replace(w, pod_sets=pod_sets)


def workload_kind(name: str, k: KindSpec, classes: dict[str, int], field: str) -> WorkloadKind:
    """A generator kind from its spec; a priorityClass must name a WorkloadPriorityClass."""
    priority = k.priority
    if k.priority_class is not None:
        if k.priority_class not in classes:
            raise InputError(
                f"WorkloadPriorityClass {k.priority_class} is not in the manifests",
                where=Location(field=f"{field}.priorityClass"),
                hint=f"known: {', '.join(sorted(classes)) or 'none'}",
            )
        priority = classes[k.priority_class]
    law = k.duration
    duration = (
        Fixed(law)
        if isinstance(law, float)
        else LogNormal(law.median, law.sigma, law.min, law.max or float("inf"))
    )
    return WorkloadKind(
        name=name,
        pods=_counts(k.pods),
        gpus=_counts(k.gpus),
        duration=duration,
        cpu_milli=k.cpu,
        memory_mib=k.memory,
        gpu_milli=k.gpu_milli,
        checkpoint_interval=k.checkpoint_interval,
        priority=priority,
    )


def _counts(value: int | list[int]) -> Choice | Fixed:
    return Fixed(float(value)) if isinstance(value, int) else Choice(tuple(map(float, value)))
