"""ClusterState invariants: never over-allocated, release undoes reserve exactly."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpuplane.cluster import Binding, CapacityError, ClusterState
from gpuplane.placement import Placement, Scheduler

from helpers import (
    FRACTIONAL,
    assert_same_state,
    fraction,
    gpu_node,
    pod,
    state_snapshot,
    whole,
)


def test_over_reserve_raises_and_changes_nothing():
    state = ClusterState([gpu_node("a", gpus=2)])
    before = state_snapshot(state, versions=False)
    bad = [
        Binding("ns/p", 0, 1_000_000, 1),  # too much CPU
        Binding("ns/p", 0, 1, 1, gpus=(0, 0), gpu_milli=(500, 500), gpu_memory_mib=(0, 0)),
        Binding("ns/p", 0, 1, 1, gpus=(5,), gpu_milli=(1,), gpu_memory_mib=(0,)),
        Binding("ns/p", 0, 1, 1, gpus=(0,), gpu_milli=(1001,), gpu_memory_mib=(0,)),
        Binding("ns/p", 0, 1, 1, gpus=(0,), gpu_milli=(-1,), gpu_memory_mib=(0,)),
        Binding("ns/p", 0, 1, 1, extended={"rdma/hca": 1}),
        Binding("ns/p", 7, 1, 1),
    ]
    for binding in bad:
        with pytest.raises(CapacityError):
            state.reserve(binding)
        assert_same_state(before, state_snapshot(state, versions=False))
    with pytest.raises(CapacityError):
        state.release("ns/never")


def test_double_reserve_is_refused():
    state = ClusterState([gpu_node("a")])
    state.reserve(Binding("ns/p", 0, 1, 1))
    with pytest.raises(CapacityError):
        state.reserve(Binding("ns/p", 0, 1, 1))


requests = st.one_of(
    st.builds(whole, st.integers(1, 8)),
    st.builds(fraction, st.integers(1, 999), st.one_of(st.none(), st.integers(0, 40_000))),
    st.builds(fraction, st.integers(1, 999), st.none(), st.integers(2, 3)),
    st.none(),
)
steps = st.lists(
    st.tuples(st.booleans(), requests, st.integers(0, 40_000), st.integers(0, 1 << 30)), max_size=60
)


@settings(max_examples=150, deadline=None)
@given(steps, st.sampled_from(["most-allocated", "least-allocated"]))
def test_random_place_and_release_keep_invariants(ops, profile):
    state = ClusterState(
        [gpu_node(f"n{i}", gpus=g, sharing=FRACTIONAL) for i, g in enumerate((8, 4, 1))]
    )
    sched = Scheduler(state, profile)
    initial = state_snapshot(state, versions=False)
    history = []  # (pod key, snapshot before it was placed)
    for i, (release, gpu, cpu, pick) in enumerate(ops):
        if release and history:
            key, _ = history.pop(pick % len(history))
            state.release(key)
        else:
            before = state_snapshot(state, versions=False)
            d = sched.place(pod(f"p{i}", gpu, cpu_milli=cpu))
            if isinstance(d, Placement):
                history.append((d.pod.key, before))
            else:
                assert_same_state(before, state_snapshot(state, versions=False))
        state.check_invariants()
        assert (state.gpu_free_milli >= 0).all() and (state.gpu_free_milli <= 1000).all()
        assert (state.gpu_free_mem >= 0).all()
    for key, _ in history:
        state.release(key)
    assert_same_state(initial, state_snapshot(state, versions=False))
    state.check_invariants()


@settings(max_examples=100, deadline=None)
@given(steps)
def test_release_right_after_reserve_restores_state_exactly(ops):
    state = ClusterState([gpu_node("a", gpus=4, sharing=FRACTIONAL), gpu_node("b", gpus=2)])
    sched = Scheduler(state)
    for i, (_, gpu, cpu, _) in enumerate(ops):
        before = state_snapshot(state, versions=False)
        d = sched.place(pod(f"p{i}", gpu, cpu_milli=cpu))
        if isinstance(d, Placement):
            state.release(d.pod.key)
            assert_same_state(before, state_snapshot(state, versions=False))
            sched.place(pod(f"p{i}", gpu, cpu_milli=cpu))  # keep the cluster filling up
