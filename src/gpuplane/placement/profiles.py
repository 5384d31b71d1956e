"""Scheduling profiles: which filters run, which scores rank, with what weights.

A profile is data, as in a KubeSchedulerConfiguration: a name, the filter plugins in order,
weighted score plugins, and optionally the plugin that chooses a pod's GPUs on its node.
Every policy gpuplane has runs kube-scheduler's filters and one resource score plugin, so the
policies are one table: name, score plugin, whether it also chooses the GPUs, and what it does.

The two kube-scheduler policies (least-allocated, most-allocated: NodeResourcesFit's scoring
strategies) also run the other default score plugins gpuplane models, with kube-scheduler's
default weights (pkg/scheduler/apis/config/v1/default_plugins.go): TaintToleration 3,
NodeAffinity 2, NodeResourcesFit 1, NodeResourcesBalancedAllocation 1. PodTopologySpread,
InterPodAffinity and ImageLocality are not modelled.

The six policies of the FGD paper (random, dotprod, gpu-clustering, gpu-packing, best-fit,
fgd) are here as the paper's artifact runs them: one score plugin each, after kube-scheduler's
filters. Random and FGD also choose the GPU a share of one GPU goes to; the others keep the
default assignment (the fullest GPU that fits), as the artifact's "best" GPU selection does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from gpuplane.catalog.resources import GPU
from gpuplane.errors import InputError
from gpuplane.placement.filters import (
    NodeAffinityFilter,
    NodeNameFilter,
    NodeResourcesFitFilter,
    NodeUnschedulableFilter,
    TaintTolerationFilter,
)
from gpuplane.placement.framework import DevicePlugin, FilterPlugin, ScorePlugin
from gpuplane.placement.sampling import check_percentage
from gpuplane.placement.scores import (
    BalancedAllocationScore,
    BestFitScore,
    DotProductScore,
    FgdScore,
    GpuClusteringScore,
    GpuPackingScore,
    LeastAllocatedScore,
    MostAllocatedScore,
    NodeAffinityScore,
    RandomScore,
    TaintTolerationScore,
)


@dataclass(frozen=True)
class Profile:
    name: str
    filters: Sequence[FilterPlugin]
    scores: Sequence[tuple[ScorePlugin, int]]
    description: str = ""
    #: Chooses the pod's GPUs on its node; None keeps the default (GpuFit.assign).
    devices: DevicePlugin | None = None
    #: kube-scheduler's per-profile percentageOfNodesToScore (0: adaptive); None: the
    #: scheduler's own (whose default, 100, scores every node).
    percentage_of_nodes_to_score: int | None = None


def default_filters() -> list[FilterPlugin]:
    """kube-scheduler's default filter order, for the plugins gpuplane has."""
    return [
        NodeUnschedulableFilter(),
        NodeNameFilter(),
        TaintTolerationFilter(),
        NodeAffinityFilter(),
        NodeResourcesFitFilter(),
    ]


Plugins = tuple[ScorePlugin, DevicePlugin | None]


class _ScoreAndDevices(ScorePlugin, DevicePlugin, Protocol):
    """A score plugin that also chooses the pod's GPUs on the node it picked."""


def _scores(make: Callable[[], ScorePlugin]) -> Callable[[], Plugins]:
    return lambda: (make(), None)


def _scores_and_devices(make: Callable[[], _ScoreAndDevices]) -> Callable[[], Plugins]:
    def both() -> Plugins:
        plugin = make()
        return plugin, plugin

    return both


def _most_allocated() -> ScorePlugin:
    # GPU weighs most: packing GPUs keeps whole nodes free for multi-GPU jobs.
    return MostAllocatedScore({"cpu": 1, "memory": 1, GPU: 3})


@dataclass(frozen=True)
class Policy:
    """A row of the policy table: what the policy does, and its plugins.

    `plugins` makes the score plugin (and the device plugin, where the score plugin also
    chooses the GPUs) afresh for each profile, since some keep state: FGD's workload
    estimate, Random's fallback generator.
    """

    description: str
    plugins: Callable[[], Plugins]
    #: Runs kube-scheduler's other default score plugins beside its resource score.
    kube_defaults: bool = False


PROFILES: Mapping[str, Policy] = {
    "least-allocated": Policy(
        "kube-scheduler's default: spread pods to the emptiest nodes (CPU and memory)",
        _scores(LeastAllocatedScore),
        kube_defaults=True,
    ),
    "most-allocated": Policy(
        "bin-packing: fill the fullest nodes first, GPUs weighted 3x CPU and memory",
        _scores(_most_allocated),
        kube_defaults=True,
    ),
    "random": Policy(
        "a feasible node at random, and a random GPU for a GPU share (FGD paper's baseline)",
        _scores_and_devices(RandomScore),
    ),
    "dotprod": Policy(
        "Tetris: the node whose free CPU and GPU align least with the pod's demand",
        _scores(DotProductScore),
    ),
    "gpu-clustering": Policy(
        "keep GPU shares with GPU shares and k-GPU pods with k-GPU pods, fuller nodes first",
        _scores(GpuClusteringScore),
    ),
    "gpu-packing": Policy(
        "shared GPUs first, then idle GPUs of busy nodes, idle nodes last",
        _scores(GpuPackingScore),
    ),
    "best-fit": Policy(
        "the node left with the least free CPU and GPU (half each)", _scores(BestFitScore)
    ),
    "fgd": Policy(
        "fragmentation gradient descent: the node and GPU that fragment the cluster least",
        _scores_and_devices(FgdScore),
    ),
}

DEFAULT_PROFILE = "most-allocated"


def profile(name: str, *, percentage_of_nodes_to_score: int | None = None) -> Profile:
    """A fresh profile by name; unknown names are an InputError listing the known ones."""
    policy = PROFILES.get(name)
    if policy is None:
        known = ", ".join(sorted(PROFILES))
        raise InputError(f"unknown placement policy {name!r}", hint=f"choose one of: {known}")
    score, devices = policy.plugins()
    scores: list[tuple[ScorePlugin, int]] = [(score, 1)]
    if policy.kube_defaults:
        scores = [
            (TaintTolerationScore(), 3),
            (NodeAffinityScore(), 2),
            (score, 1),
            (BalancedAllocationScore(), 1),
        ]
    if percentage_of_nodes_to_score is not None:
        check_percentage(percentage_of_nodes_to_score)
    return Profile(
        name, default_filters(), scores, policy.description, devices, percentage_of_nodes_to_score
    )
