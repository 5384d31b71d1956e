"""kube-scheduler's percentageOfNodesToScore: stop looking once enough feasible nodes are found.

kube-scheduler (pkg/scheduler/schedule_one.go, `numFeasibleNodesToFind` and
`findNodesThatPassFilters`) filters nodes from a round-robin start and stops after finding
`numFeasibleNodesToFind` feasible ones; only those are scored, and the next cycle starts after
the last node it looked at, so that every node gets its turn. A percentage of 0 is its adaptive
default (50% less 1% per 125 nodes, at least 5%, at least 100 nodes); 100 scores every node.
gpuplane's default is 100, so that placements do not depend on the cluster's size.

Upstream filters in parallel and counts the nodes its workers happened to look at; here the
nodes are looked at in round-robin order, so "looked at" is every node up to the last one
taken (all nodes when fewer than enough are feasible): the same answer, deterministically.
"""

from __future__ import annotations

import numpy as np

from gpuplane.cluster.state import BoolArray
from gpuplane.errors import InputError

#: Below this many nodes, every node is scored; never fewer than this many are looked for.
MIN_FEASIBLE_NODES_TO_FIND = 100
#: The adaptive percentage never goes below this.
MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND = 5
#: The adaptive percentage for a small cluster, less one per 125 nodes.
BASE_PERCENTAGE_OF_NODES_TO_SCORE = 50
#: percentageOfNodesToScore that asks for the adaptive default.
ADAPTIVE = 0
#: gpuplane's default: score every node.
ALL_NODES = 100


def check_percentage(percentage: int) -> int:
    """A percentageOfNodesToScore as given, or an InputError when it is outside 0..100."""
    if not 0 <= percentage <= 100:
        raise InputError(
            f"percentageOfNodesToScore must be between 0 and 100, not {percentage}",
            hint="0 is kube-scheduler's adaptive default, 100 scores every node",
        )
    return percentage


def num_feasible_nodes_to_find(percentage: int, num_all_nodes: int) -> int:
    """How many feasible nodes to find before scoring, as kube-scheduler decides it."""
    if num_all_nodes < MIN_FEASIBLE_NODES_TO_FIND or percentage >= 100:
        return num_all_nodes
    if percentage <= 0:
        percentage = BASE_PERCENTAGE_OF_NODES_TO_SCORE - num_all_nodes // 125
        percentage = max(percentage, MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND)
    return max(num_all_nodes * percentage // 100, MIN_FEASIBLE_NODES_TO_FIND)


def sample(feasible: BoolArray, wanted: int, start: int) -> tuple[BoolArray, int]:
    """The first `wanted` feasible nodes from `start` on, wrapping; and the next start."""
    n = len(feasible)
    found = np.flatnonzero(feasible)
    if len(found) <= wanted:
        # Upstream looks at every node before it knows there are no more: a full turn.
        return feasible, start
    split = int(np.searchsorted(found, start))
    after = found[split : split + wanted]
    taken = (
        after
        if len(after) == wanted
        else np.concatenate((after, found[: wanted - len(after)]))
    )
    chosen = np.zeros(n, dtype=np.bool_)
    chosen[taken] = True
    looked_at = (int(taken[-1]) - start) % n + 1
    return chosen, (start + looked_at) % n
