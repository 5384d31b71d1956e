"""kube-scheduler's percentageOfNodesToScore: stop looking once enough feasible nodes are found.

kube-scheduler (pkg/scheduler/schedule_one.go, `numFeasibleNodesToFind` and
`findNodesThatPassFilters`) filters nodes from a round-robin start and stops after finding
`numFeasibleNodesToFind` feasible ones; only those are scored, and the next cycle starts after
the last node it looked at, so that every node gets its turn. A percentage of 0 is its adaptive
default (50% less 1% per 125 nodes, at least 5%, at least 100 nodes); 100 scores every node.
gpuplane's default is 100, so that placements do not depend on the cluster's size.

Upstream filters in parallel and counts the nodes its workers happened to look at: it stops
when one more feasible node than it needs turns up, and the next cycle starts at that node.
Here the nodes are looked at in round-robin order, so the answer is the one a single worker
gives (all nodes are looked at when no more than enough are feasible), deterministically.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from gpuplane.cluster.state import BoolArray, IntArray
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


def scan(
    feasible_of: Callable[[int, int], BoolArray], n: int, wanted: int, start: int
) -> tuple[IntArray, int] | None:
    """The first `wanted` feasible nodes from `start` on, wrapping (in that order), and the
    next start; None when no more than `wanted` nodes are feasible (a full turn, every one
    taken). `feasible_of(a, b)` answers for nodes a..b-1, so that only what is needed is asked.

    Upstream stops at the feasible node after the last one it keeps (that one is dropped), and
    the next cycle starts there. The scan goes in chunks of twice what is still needed.
    """
    parts: list[IntArray] = []
    have, pos = 0, start
    for leg_end in (n, start):  # start..n, then 0..start
        while pos < leg_end:
            end = min(pos + max(2 * (wanted + 1 - have), 1024), leg_end)
            found = np.flatnonzero(feasible_of(pos, end)) + pos
            if have + len(found) > wanted:
                found = found[: wanted - have + 1]
                parts.append(found[:-1])
                return np.concatenate(parts), int(found[-1])
            parts.append(found)
            have += len(found)
            pos = end
        pos = 0
    return None


def sample(feasible: BoolArray, wanted: int, start: int) -> tuple[BoolArray, int]:
    """`scan` over a feasibility mask: the mask of the nodes taken, and the next start."""
    found = scan(lambda a, b: feasible[a:b], len(feasible), wanted, start)
    if found is None:
        return feasible, start
    chosen = np.zeros(len(feasible), dtype=np.bool_)
    chosen[found[0]] = True
    return chosen, found[1]
