"""percentageOfNodesToScore: how many feasible nodes kube-scheduler looks for, and from where.

Source: kubernetes/kubernetes, pkg/scheduler/schedule_one_test.go at commit
cb0f09275e56634451c727b187a2e24eedf0291e: TestNumFeasibleNodesToFind (the whole table, 6
cases; upstream's "not set" is a percentage of 0, the adaptive default) and
TestFairEvaluationForNodes (500 nodes that all pass the filters, 30%: every cycle takes the
next 150 nodes in round-robin order). The function under test is numFeasibleNodesToFind in
pkg/scheduler/schedule_one.go at the same commit.
"""

from __future__ import annotations

import numpy as np
import pytest

from gpuplane.cluster import ClusterState
from gpuplane.objects import Node, Pod
from gpuplane.placement import Placement, Scheduler
from gpuplane.placement.sampling import num_feasible_nodes_to_find, sample

CASES = [
    ("not set percentageOfNodesToScore and nodes number not more than 50", 0, 10, 10),
    ("set percentageOfNodesToScore and nodes number not more than 50", 40, 10, 10),
    ("not set percentageOfNodesToScore and nodes number more than 50", 0, 1000, 420),
    ("set percentageOfNodesToScore and nodes number more than 50", 40, 1000, 400),
    ("not set percentageOfNodesToScore and nodes number more than 50*125", 0, 6000, 300),
    ("set percentageOfNodesToScore and nodes number more than 50*125", 40, 6000, 2400),
]


@pytest.mark.parametrize(
    ("percentage", "num_all_nodes", "want"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_num_feasible_nodes_to_find(percentage: int, num_all_nodes: int, want: int) -> None:
    assert num_feasible_nodes_to_find(percentage, num_all_nodes) == want


def test_fair_evaluation_for_nodes() -> None:
    num_all_nodes = 500
    nodes_to_find = num_feasible_nodes_to_find(30, num_all_nodes)
    assert nodes_to_find == 150  # 500 % 150 != 0, as upstream wants
    feasible = np.ones(num_all_nodes, dtype=np.bool_)
    start = 0
    # Iterating over all nodes more than twice.
    for i in range(2 * (num_all_nodes // nodes_to_find + 1)):
        chosen, start = sample(feasible, nodes_to_find, start)
        assert int(chosen.sum()) == nodes_to_find
        assert start == (i + 1) * nodes_to_find % num_all_nodes


def test_fair_evaluation_through_the_scheduler() -> None:
    """The same walk through `Scheduler.schedule`, on nodes that all pass and score alike."""
    nodes = [Node(name=f"{i}", cpu_milli=4_000, memory_mib=8_192) for i in range(500)]
    scheduler = Scheduler(ClusterState(nodes), percentage_of_nodes_to_score=30)
    for i in range(8):
        before = scheduler.next_start_node_index
        decision = scheduler.schedule(Pod(f"p{i}"))
        assert isinstance(decision, Placement)
        # Equal scores: the first node of the sampled window in cluster order wins.
        window = [(before + k) % 500 for k in range(150)]
        assert decision.node_index == min(window)
        assert scheduler.next_start_node_index == (i + 1) * 150 % 500
