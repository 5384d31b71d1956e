"""Seeded synthetic workloads: an arrival process, a team mix, and size and duration laws.

`generate` draws `count` arrivals of a Poisson process of rate `rate` (per second) from
`start` on. Each arrival picks a team by the teams' weights, then one of the team's workload
kinds by the kinds' weights, then the kind's gang size, GPUs per pod and duration. Every
draw comes from the one numpy Generator passed in, in that order, arrival after arrival, so
the same seed gives the same workloads bit for bit.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from gpuplane.catalog.resources import GPU
from gpuplane.objects.gpu_request import NO_GPU, GpuKind, GpuRequest
from gpuplane.objects.pod import Pod
from gpuplane.queueing import PodSet, Workload


class Distribution(Protocol):
    """Anything that draws one number from a Generator."""

    def sample(self, rng: np.random.Generator) -> float: ...


@dataclass(frozen=True)
class Fixed:
    value: float

    def sample(self, rng: np.random.Generator) -> float:
        return self.value


@dataclass(frozen=True)
class Choice:
    """One of `values`, with probabilities proportional to `weights` (equal by default)."""

    values: tuple[float, ...]
    weights: tuple[float, ...] = ()
    cumulative: tuple[float, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        weights = self.weights or (1.0,) * len(self.values)
        if len(weights) != len(self.values):
            raise ValueError("one weight per value")
        object.__setattr__(self, "cumulative", tuple(_cumulative(weights)))

    def sample(self, rng: np.random.Generator) -> float:
        return self.values[_pick(rng, self.cumulative)]


@dataclass(frozen=True)
class LogNormal:
    """Log-normal with this median and log-space sigma, clipped to [low, high]."""

    median: float
    sigma: float
    low: float = 0.0
    high: float = math.inf

    def sample(self, rng: np.random.Generator) -> float:
        value = float(rng.lognormal(math.log(self.median), self.sigma))
        return min(self.high, max(self.low, value))


@dataclass(frozen=True)
class WorkloadKind:
    """A kind of work a team submits: its shape, its length, how it checkpoints, its priority.

    Each workload is a gang of `pods` pods; each pod takes `gpus` whole GPUs, or, when
    `gpu_milli` is set, that share of one GPU.
    """

    name: str
    pods: Distribution
    gpus: Distribution
    duration: Distribution
    cpu_milli: int = 4000
    memory_mib: int = 16_384
    gpu_milli: int | None = None
    checkpoint_interval: float | None = None
    priority: int = 0
    weight: float = 1.0


@dataclass(frozen=True)
class Team:
    """Who submits: a namespace and its LocalQueue, a share of the arrivals, what it runs."""

    namespace: str
    queue: str
    kinds: tuple[WorkloadKind, ...]
    weight: float = 1.0


def generate(
    teams: Sequence[Team],
    rng: np.random.Generator,
    *,
    count: int,
    rate: float,
    start: float = 0.0,
    prefix: str = "w",
) -> list[Workload]:
    """`count` workloads arriving as a Poisson process of `rate` per second from `start`.

    Keys are `<namespace>/<prefix>-<n>-<kind>`; give each call its own prefix.
    """
    if rate <= 0:
        raise ValueError("the arrival rate must be positive")
    team_p = _cumulative([t.weight for t in teams])
    kind_p = [_cumulative([k.weight for k in t.kinds]) for t in teams]
    out = []
    now = start
    for n in range(count):
        now += float(rng.exponential(1.0 / rate))
        ti = _pick(rng, team_p)
        team = teams[ti]
        kind = team.kinds[_pick(rng, kind_p[ti])]
        out.append(_workload(team, kind, rng, now, f"{prefix}-{n}-{kind.name}"))
    return out


def _workload(
    team: Team, kind: WorkloadKind, rng: np.random.Generator, now: float, name: str
) -> Workload:
    pods = max(1, round(kind.pods.sample(rng)))
    gpus = max(0, round(kind.gpus.sample(rng)))
    duration = kind.duration.sample(rng)
    template = Pod(
        name=name,
        namespace=team.namespace,
        cpu_milli=kind.cpu_milli,
        memory_mib=kind.memory_mib,
        gpu=_gpu(gpus, kind.gpu_milli),
        labels={"team": team.namespace, "kind": kind.name},
    )
    return Workload(
        key=f"{team.namespace}/{name}",
        namespace=team.namespace,
        queue=team.queue,
        pod_sets=(PodSet("main", template, pods),),
        priority=kind.priority,
        created=now,
        duration=duration,
        checkpoint_interval=kind.checkpoint_interval,
        labels={"kind": kind.name},
    )


def _gpu(count: int, milli: int | None) -> GpuRequest:
    if count == 0:
        return NO_GPU
    if milli is not None and milli < 1000:
        return GpuRequest(GpuKind.FRACTION, count=1, milli=milli)
    return GpuRequest(GpuKind.WHOLE, count=count, milli=1000, resource=GPU)


def _cumulative(weights: Sequence[float]) -> list[float]:
    """Running sums of the weights, to draw an index in proportion to its weight."""
    if not weights or any(w < 0 for w in weights) or sum(weights) <= 0:
        raise ValueError("weights must be non-negative with a positive sum")
    return list(itertools.accumulate(weights))


def _pick(rng: np.random.Generator, cumulative: Sequence[float]) -> int:
    """An index drawn in proportion to its weight (one uniform draw)."""
    # bisect_right skips zero-weight entries, whose running sum equals their predecessor's.
    index = bisect.bisect_right(cumulative, float(rng.random()) * cumulative[-1])
    return min(index, len(cumulative) - 1)
