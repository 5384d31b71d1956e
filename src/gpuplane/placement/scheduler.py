"""One scheduling cycle per pod: filter every node, score the feasible ones, pick, assign devices.

The cycle is pure: `schedule` decides and changes nothing; `place` also reserves the decision in
the ClusterState. Ties between equal scores go to the node that comes first in cluster order
(kube-scheduler picks at random among ties; a fixed rule keeps runs reproducible). Every node is
scored (percentageOfNodesToScore = 100).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from gpuplane.cluster.state import BoolArray, ClusterState, binding_for
from gpuplane.objects.pod import Pod
from gpuplane.placement.framework import Cycle, NodeCache, fit_error
from gpuplane.placement.gpu_fit import GpuFit
from gpuplane.placement.profiles import DEFAULT_PROFILE, Profile, profile


@dataclass(frozen=True)
class Placement:
    """Pod P goes to node N, on these GPUs with these shares."""

    pod: Pod
    node: str
    node_index: int
    gpus: tuple[int, ...] = ()
    gpu_milli: tuple[int, ...] = ()
    gpu_memory_mib: tuple[int, ...] = ()
    extended: dict[str, int] = field(default_factory=dict)
    score: int = 0


@dataclass(frozen=True)
class Unschedulable:
    """No node can take the pod now; `message` is kube-scheduler's FitError text."""

    pod: Pod
    message: str
    reasons: dict[str, int]


Decision = Placement | Unschedulable


class Scheduler:
    """Runs scheduling cycles over one ClusterState with one profile."""

    def __init__(self, state: ClusterState, profile_: Profile | str = DEFAULT_PROFILE) -> None:
        self.state = state
        self.profile = profile(profile_) if isinstance(profile_, str) else profile_
        self.cache = NodeCache()

    def schedule(self, pod: Pod) -> Decision:
        """Decide where `pod` goes, without changing the state."""
        state = self.state
        cycle = Cycle(pod=pod, state=state, cache=self.cache, gpu=GpuFit(pod.gpu, state))
        results = [plugin.filter(cycle) for plugin in self.profile.filters]
        failed = np.zeros(len(state), dtype=np.bool_)
        for failures in results:
            for _, mask in failures:
                failed |= mask
        if failed.all():
            histogram = _histogram(len(state), results)
            return Unschedulable(pod, fit_error(len(state), histogram), histogram)
        cycle.feasible = ~failed
        total = np.zeros(len(state), dtype=np.int64)
        for plugin, weight in self.profile.scores:
            total += weight * plugin.score(cycle)
        total[failed] = -1
        # argmax returns the first maximum: cluster order breaks ties.
        node = best = int(np.argmax(total))
        devices = cycle.gpu.choose(node)
        return Placement(
            pod=pod,
            node=state.nodes[node].name,
            node_index=node,
            gpus=tuple(d[0] for d in devices),
            gpu_milli=tuple(d[1] for d in devices),
            gpu_memory_mib=tuple(d[2] for d in devices),
            extended={**pod.extended, **cycle.gpu.extended_taken()},
            score=int(total[best]),
        )

    def bind(self, placement: Placement) -> None:
        """Reserve a placement in the state (the 'assume' step of kube-scheduler)."""
        devices = zip(placement.gpus, placement.gpu_milli, placement.gpu_memory_mib, strict=True)
        self.state.reserve(
            binding_for(placement.pod, placement.node_index, devices, extended=placement.extended)
        )

    def place(self, pod: Pod) -> Decision:
        """Schedule and, when a node was found, reserve it."""
        decision = self.schedule(pod)
        if isinstance(decision, Placement):
            self.bind(decision)
        return decision


def _histogram(n: int, results: list[list[tuple[str, BoolArray]]]) -> dict[str, int]:
    """Reasons per node in filter order: a node counts only at the first plugin it fails."""
    histogram: dict[str, int] = {}
    earlier = np.zeros(n, dtype=np.bool_)
    for failures in results:
        here = np.zeros(n, dtype=np.bool_)
        for reason, mask in failures:
            fresh = mask & ~earlier
            count = int(np.count_nonzero(fresh))
            if count:
                histogram[reason] = histogram.get(reason, 0) + count
                here |= fresh
        earlier |= here
    return histogram
