"""The workload model of a snapshot, fitted from what finished: durations and arrival rates.

Each finished Job (or finished pod that no Job owns) is one sample: when it was created, how
long it ran (start to completion), its shape (pods, GPUs per pod, CPU and memory per pod) and
its team (namespace and LocalQueue). Per team, durations are fitted by a log-normal law (the
median and the log-space spread of the samples, clipped to the shortest and longest seen), and
arrivals by a rate for each hour of the day: the samples created in that hour of the day over
the hours of that kind the history covers. A team's kinds are its shapes, weighted by how often
each was seen. MIG-slice and shared-replica shapes are left out of the model (counted in
`skipped`): the scenario's kinds ask for whole GPUs or fractions.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from gpuplane.objects import GpuKind, Pod

HOUR = 3600.0
DAY_HOURS = 24


@dataclass(frozen=True)
class Shape:
    pods: int
    gpus: int
    gpu_milli: int | None  # a fraction of one GPU, else None (whole GPUs)


@dataclass(frozen=True)
class Sample:
    """One finished workload."""

    namespace: str
    queue: str
    created: float  # seconds since the epoch
    duration: float
    shape: Shape
    cpu_milli: int
    memory_mib: int


def shape_of(pod: Pod, pods: int) -> Shape | None:
    """The shape of a workload of `pods` pods like `pod`; None for shapes the model omits."""
    gpu = pod.gpu
    if not gpu.wants_gpu:
        return Shape(pods, 0, None)
    if gpu.kind is GpuKind.WHOLE:
        return Shape(pods, gpu.count, None)
    if gpu.kind is GpuKind.FRACTION and 0 < gpu.milli < 1000:
        return Shape(pods, gpu.count, gpu.milli)
    return None


@dataclass
class Model:
    """The fitted model as the scenario's `workload.kinds` and `workload.arrivals`."""

    kinds: dict[str, dict[str, Any]] = field(default_factory=dict)
    arrivals: list[dict[str, Any]] = field(default_factory=list)
    #: Median duration per team (namespace, queue), for running and pending workloads.
    medians: dict[tuple[str, str], float] = field(default_factory=dict)
    samples: int = 0


def fit(samples: Sequence[Sample], now: float, horizon: float) -> Model:
    """Kinds, and arrivals from `now` (time 0 of the scenario) over `horizon` seconds."""
    model = Model(samples=len(samples))
    if not samples:
        return model
    teams: dict[tuple[str, str], list[Sample]] = defaultdict(list)
    for s in samples:
        teams[(s.namespace, s.queue)].append(s)
    exposure = _exposure(min(s.created for s in samples), now)
    team_kinds: dict[tuple[str, str], dict[str, float]] = {}
    rates: dict[tuple[str, str], list[float]] = {}
    for team in sorted(teams):
        members = teams[team]
        law = _law([s.duration for s in members])
        model.medians[team] = law["median"]
        shapes = Counter(s.shape for s in members)
        mix: dict[str, float] = {}
        for shape, count in sorted(shapes.items(), key=lambda kv: (-kv[1], repr(kv[0]))):
            name = f"kind-{len(model.kinds)}"
            alike = [s for s in members if s.shape == shape]
            model.kinds[name] = _kind(shape, alike, law)
            mix[name] = float(count)
        team_kinds[team] = mix
        by_hour = Counter(_hour_of_day(s.created) for s in members)
        mean = len(members) / max(sum(exposure), 1.0)
        rates[team] = [by_hour[h] / exposure[h] if exposure[h] else mean for h in range(24)]
    model.arrivals = _arrivals(team_kinds, rates, now, horizon)
    return model


def _law(durations: list[float]) -> dict[str, Any]:
    logs = [math.log(max(d, 1.0)) for d in durations]
    return {
        "median": round(float(statistics.median(durations)), 3),
        "sigma": round(statistics.pstdev(logs), 4) if len(logs) > 1 else 0.0,
        "min": round(min(durations), 3),
        "max": round(max(durations), 3),
    }


def _kind(shape: Shape, alike: list[Sample], law: dict[str, Any]) -> dict[str, Any]:
    kind: dict[str, Any] = {
        "pods": shape.pods,
        "gpus": shape.gpus,
        "cpu": f"{int(statistics.median(s.cpu_milli for s in alike))}m",
        "memory": f"{int(statistics.median(s.memory_mib for s in alike))}Mi",
        "duration": dict(law),
    }
    if shape.gpu_milli is not None:
        kind["gpuMilli"] = shape.gpu_milli
    return kind


def _hour_of_day(t: float) -> int:
    return int(t // HOUR) % DAY_HOURS


def _exposure(start: float, end: float) -> list[float]:
    """Hours of each hour of the day (UTC) between `start` and `end`."""
    hours = [0.0] * DAY_HOURS
    t = start
    while t < end:
        step = min(end, (math.floor(t / HOUR) + 1) * HOUR) - t
        hours[_hour_of_day(t)] += step / HOUR
        t += step
    return hours


def _arrivals(
    team_kinds: dict[tuple[str, str], dict[str, float]],
    rates: dict[tuple[str, str], list[float]],
    now: float,
    horizon: float,
) -> list[dict[str, Any]]:
    """One arrival process per hour of the horizon, the teams weighted by their rate then.

    Counts are the expected arrivals rounded cumulatively, so that fractions of an arrival per
    hour add up over the horizon instead of rounding away.
    """
    out: list[dict[str, Any]] = []
    expected = 0.0
    made = 0
    for k in range(math.ceil(horizon / HOUR)):
        hour = _hour_of_day(now + k * HOUR)
        total = sum(r[hour] for r in rates.values())
        expected += total
        count = round(expected) - made
        if count <= 0 or total <= 0:
            continue
        made += count
        teams = [
            {
                "namespace": ns,
                "queue": queue,
                "weight": round(rates[(ns, queue)][hour], 6),
                "kinds": dict(team_kinds[(ns, queue)]),
            }
            for ns, queue in sorted(team_kinds)
            if rates[(ns, queue)][hour] > 0
        ]
        out.append(
            {
                "name": f"hour-{k:03d}",
                "count": count,
                "ratePerHour": round(total, 6),
                "start": k * HOUR,
                "teams": teams,
            }
        )
    return out
