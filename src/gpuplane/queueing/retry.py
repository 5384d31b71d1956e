"""When a gang that found no room would find none again, known without placing it again.

A waiting gang is tried again whenever something changes anywhere in the cluster, and in a
busy cluster something always does: most tries place its first pods and fail on a later one,
undone every time. A failed try is remembered with what decided it: the nodes the gang's pods
could ever use and the nodes each pod could use at its start (those that passed every filter),
with their node versions. The same try fails again, the same way, while none of the nodes that
could take a pod has changed and no node has become able to take one: every step of the try
then sees the same feasible nodes in the same state, so it picks the same nodes and fails at
the same pod. (Nodes that pass no filter for any pod are never bound during the try, so they
stay out of it however they changed.)

That holds only when a try is a function of the pods' shapes and those nodes' states
(`repeatable`): every node is scored (the round-robin start of percentageOfNodesToScore is
state of its own), no filter looks beyond the node it filters, no plugin learns from the pods
it sees (FGD without a target workload), and nothing was drawn at random during the try.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gpuplane.cluster.state import ClusterState, IntArray
from gpuplane.objects.pod import Pod
from gpuplane.placement.framework import depends
from gpuplane.placement.sampling import num_feasible_nodes_to_find
from gpuplane.placement.scheduler import Scheduler
from gpuplane.placement.scores.fgd import FgdScore

Shape = tuple[object, ...]


@dataclass(frozen=True)
class FailedTry:
    """A gang's try that failed, and the node states that decided it."""

    generation: int
    eligible: IntArray  # nodes any of its pods could ever use
    eligible_versions: IntArray
    feasible: tuple[IntArray, ...]  # per representative pod: nodes passing every filter
    feasible_nodes: IntArray  # their union
    feasible_versions: IntArray
    at_first: bool  # the first pod found no node (else a later one, after some were placed)
    shape: Shape  # the first pod's shape, for the per-shape refusal memo

    def fails_again(self, scheduler: Scheduler, pods: list[Pod]) -> bool:
        """Whether trying again now would fail the same way (see the module docstring)."""
        state = scheduler.state
        if state.generation != self.generation:
            return False
        if np.array_equal(state.node_version[self.eligible], self.eligible_versions):
            return True
        # The nodes that could take a pod unchanged first: a version comparison, where the
        # feasible sets cost the filters on every changed node.
        if not np.array_equal(state.node_version[self.feasible_nodes], self.feasible_versions):
            return False
        return all(
            np.array_equal(np.flatnonzero(scheduler.feasible(pod)), before)
            for pod, before in zip(pods, self.feasible, strict=True)
        )


def remember(
    scheduler: Scheduler, pods: list[Pod], eligible: IntArray, at_first: bool, shape: Shape
) -> FailedTry:
    """The failed try of `pods` (one per pod set), taken in the state it started from."""
    state: ClusterState = scheduler.state
    feasible = tuple(np.flatnonzero(scheduler.feasible(pod)) for pod in pods)
    nodes = np.unique(np.concatenate(feasible)) if feasible else np.zeros(0, dtype=np.int64)
    return FailedTry(
        state.generation,
        eligible,
        state.node_version[eligible],
        feasible,
        nodes,
        state.node_version[nodes],
        at_first,
        shape,
    )


def repeatable(scheduler: Scheduler) -> bool:
    """Whether a try depends only on the pods' shapes and the states of the nodes they can use
    (rng draws aside: those are checked try by try)."""
    profile = scheduler.profile
    percentage = profile.percentage_of_nodes_to_score
    if percentage is None:
        percentage = scheduler.percentage_of_nodes_to_score
    n = len(scheduler.state)
    if num_feasible_nodes_to_find(percentage, n) < n:
        return False
    if any(depends(f) == "cycle" for f in profile.filters):
        return False
    plugins = [*profile.filters, *(p for p, _ in profile.scores), profile.devices]
    return scheduler.workload is not None or not any(isinstance(p, FgdScore) for p in plugins)
