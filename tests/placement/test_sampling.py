"""percentageOfNodesToScore in gpuplane: the round-robin window, its bounds, who sets it."""

from __future__ import annotations

import numpy as np
import pytest

from gpuplane.cluster import ClusterState
from gpuplane.errors import InputError
from gpuplane.objects import Node, Pod
from gpuplane.placement import Placement, Scheduler
from gpuplane.placement.profiles import profile
from gpuplane.placement.sampling import sample


def test_the_window_wraps_past_the_last_node_and_skips_infeasible_ones():
    feasible = np.array([True, False, True, True, False, True, True, False, True, True])
    chosen, start = sample(feasible, 3, 8)
    # From node 8: 8, 9, then wrapping 0; the next feasible one, node 2, is where the scan
    # stopped (nodes 8, 9, 0 and 1 were looked at), so the next cycle starts there.
    assert list(np.flatnonzero(chosen)) == [0, 8, 9]
    assert start == 2


def test_exactly_enough_feasible_nodes_is_a_full_turn():
    feasible = np.array([True, False, True, False])
    chosen, start = sample(feasible, 2, 1)
    assert list(np.flatnonzero(chosen)) == [0, 2]
    assert start == 1


def test_a_long_scan_goes_in_chunks_and_wraps():
    feasible = np.zeros(5_000, dtype=np.bool_)
    feasible[[4_990, 10, 20, 3_000]] = True
    chosen, start = sample(feasible, 2, 4_000)
    assert list(np.flatnonzero(chosen)) == [10, 4_990]
    assert start == 20


def test_too_few_feasible_nodes_take_them_all_and_keep_the_start():
    feasible = np.array([False, True, False, True])
    chosen, start = sample(feasible, 3, 2)
    assert list(np.flatnonzero(chosen)) == [1, 3]
    assert start == 2


@pytest.mark.parametrize("bad", [-1, 101])
def test_a_percentage_outside_0_to_100_is_an_input_error(bad):
    with pytest.raises(InputError, match="percentageOfNodesToScore"):
        Scheduler(ClusterState([]), percentage_of_nodes_to_score=bad)
    with pytest.raises(InputError, match="percentageOfNodesToScore"):
        profile("most-allocated", percentage_of_nodes_to_score=bad)


def test_a_profile_percentage_wins_over_the_schedulers():
    nodes = [Node(name=f"n{i}", cpu_milli=4_000, memory_mib=8_192) for i in range(200)]
    everything = Scheduler(ClusterState(nodes), percentage_of_nodes_to_score=100)
    own = Scheduler(
        ClusterState(nodes),
        profile("most-allocated", percentage_of_nodes_to_score=50),
        percentage_of_nodes_to_score=100,
    )
    for i in range(3):
        assert isinstance(everything.place(Pod(f"p{i}", cpu_milli=1_000)), Placement)
        assert isinstance(own.place(Pod(f"p{i}", cpu_milli=1_000)), Placement)
    assert everything.next_start_node_index == 0
    # 50% of 200 nodes: 100 per cycle, so after three cycles the window starts at 100.
    assert own.next_start_node_index == 100


def test_by_default_every_node_is_scored():
    nodes = [Node(name=f"n{i}", cpu_milli=4_000, memory_mib=8_192) for i in range(300)]
    scheduler = Scheduler(ClusterState(nodes))
    scheduler.place(Pod("p", cpu_milli=1_000))
    assert scheduler.next_start_node_index == 0
