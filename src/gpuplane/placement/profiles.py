"""Scheduling profiles: which filters run, which scores rank, with what weights.

A profile is data, as in a KubeSchedulerConfiguration: a name, the filter plugins in order,
weighted score plugins, and optionally the plugin that chooses a pod's GPUs on its node.

The six policies of the FGD paper (random, dotprod, gpu-clustering, gpu-packing, best-fit,
fgd) are here as the paper's artifact runs them: one score plugin each, after kube-scheduler's
filters. Random and FGD also choose the GPU a share of one GPU goes to; the others keep the
default assignment (the fullest GPU that fits), as the artifact's "best" GPU selection does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from gpuplane.catalog.resources import GPU
from gpuplane.errors import InputError
from gpuplane.placement.filters import (
    NodeAffinity,
    NodeName,
    NodeResourcesFit,
    NodeUnschedulable,
    TaintToleration,
)
from gpuplane.placement.framework import DevicePlugin, FilterPlugin, ScorePlugin
from gpuplane.placement.scores import (
    BestFitScore,
    DotProductScore,
    FragmentationGradientDescent,
    GpuClusteringScore,
    GpuPackingScore,
    LeastAllocated,
    MostAllocated,
    RandomScore,
)


@dataclass(frozen=True)
class Profile:
    name: str
    filters: Sequence[FilterPlugin]
    scores: Sequence[tuple[ScorePlugin, int]]
    description: str = ""
    #: Chooses the pod's GPUs on its node; None keeps the default (GpuFit.assign).
    devices: DevicePlugin | None = None


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


def _random() -> Profile:
    plugin = RandomScore()
    return Profile(
        "random",
        default_filters(),
        [(plugin, 1)],
        "a feasible node at random, and a random GPU for a GPU share (FGD paper's baseline)",
        devices=plugin,
    )


def _dotprod() -> Profile:
    return Profile(
        "dotprod",
        default_filters(),
        [(DotProductScore(), 1)],
        "Tetris: the node whose free CPU and GPU align least with the pod's demand",
    )


def _gpu_clustering() -> Profile:
    return Profile(
        "gpu-clustering",
        default_filters(),
        [(GpuClusteringScore(), 1)],
        "keep GPU shares with GPU shares and k-GPU pods with k-GPU pods, fuller nodes first",
    )


def _gpu_packing() -> Profile:
    return Profile(
        "gpu-packing",
        default_filters(),
        [(GpuPackingScore(), 1)],
        "shared GPUs first, then idle GPUs of busy nodes, idle nodes last",
    )


def _best_fit() -> Profile:
    return Profile(
        "best-fit",
        default_filters(),
        [(BestFitScore(), 1)],
        "the node left with the least free CPU and GPU (half each)",
    )


def _fgd() -> Profile:
    plugin = FragmentationGradientDescent()
    return Profile(
        "fgd",
        default_filters(),
        [(plugin, 1)],
        "fragmentation gradient descent: the node and GPU that fragment the cluster least",
        devices=plugin,
    )


PROFILES: dict[str, Callable[[], Profile]] = {
    "least-allocated": _least_allocated,
    "most-allocated": _most_allocated,
    "random": _random,
    "dotprod": _dotprod,
    "gpu-clustering": _gpu_clustering,
    "gpu-packing": _gpu_packing,
    "best-fit": _best_fit,
    "fgd": _fgd,
}

DEFAULT_PROFILE = "most-allocated"


def profile(name: str) -> Profile:
    """A fresh profile by name; unknown names are an InputError listing the known ones."""
    make = PROFILES.get(name)
    if make is None:
        known = ", ".join(sorted(PROFILES))
        raise InputError(f"unknown placement policy {name!r}", hint=f"choose one of: {known}")
    return make()
