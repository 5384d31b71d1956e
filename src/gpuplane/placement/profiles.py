"""Scheduling profiles: which filters run, which scores rank, with what weights.

A profile is data, as in a KubeSchedulerConfiguration: a name, the filter plugins in order and
weighted score plugins. Policies that later issues add (FGD and the openb six) are new score
plugins registered here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from gpuplane.errors import InputError
from gpuplane.objects.gpu_request import GPU
from gpuplane.placement.filters import (
    NodeAffinity,
    NodeName,
    NodeResourcesFit,
    NodeUnschedulable,
    TaintToleration,
)
from gpuplane.placement.framework import FilterPlugin, ScorePlugin
from gpuplane.placement.scores import LeastAllocated, MostAllocated


@dataclass(frozen=True)
class Profile:
    name: str
    filters: Sequence[FilterPlugin]
    scores: Sequence[tuple[ScorePlugin, int]]
    description: str = ""


def default_filters() -> list[FilterPlugin]:
    """kube-scheduler's default filter order, for the plugins gpuplane has."""
    return [NodeUnschedulable(), NodeName(), TaintToleration(), NodeAffinity(), NodeResourcesFit()]


def _least_allocated() -> Profile:
    return Profile(
        "least-allocated",
        default_filters(),
        [(LeastAllocated(), 1)],
        "kube-scheduler's default: spread pods to the emptiest nodes (CPU and memory)",
    )


def _most_allocated() -> Profile:
    return Profile(
        "most-allocated",
        default_filters(),
        # GPU weighs most: packing GPUs keeps whole nodes free for multi-GPU jobs.
        [(MostAllocated({"cpu": 1, "memory": 1, GPU: 3}), 1)],
        "bin-packing: fill the fullest nodes first, GPUs weighted 3x CPU and memory",
    )


PROFILES: dict[str, Callable[[], Profile]] = {
    "least-allocated": _least_allocated,
    "most-allocated": _most_allocated,
}

DEFAULT_PROFILE = "most-allocated"


def profile(name: str) -> Profile:
    """A fresh profile by name; unknown names are an InputError listing the known ones."""
    make = PROFILES.get(name)
    if make is None:
        known = ", ".join(sorted(PROFILES))
        raise InputError(f"unknown placement policy {name!r}", hint=f"choose one of: {known}")
    return make()
