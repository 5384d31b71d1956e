"""ClusterState.trial(): what-ifs leave the state bit-identical; Scheduler.unbind undoes bind."""

from __future__ import annotations

from contextlib import ExitStack
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from gpuplane.cluster import ClusterState
from gpuplane.cluster.journal import Trial
from gpuplane.objects.gpu_request import GpuKind, GpuRequest
from gpuplane.placement import Placement, Scheduler
from gpuplane.sharing import GpuSharing, MigStrategy, NodeSharing, SharingKind

from helpers import (
    FRACTIONAL,
    assert_same_state,
    fraction,
    gpu_node,
    pod,
    state_snapshot,
    whole,
)

A100 = "NVIDIA-A100-SXM4-80GB"
DYNAMIC_MIG = NodeSharing(
    GpuSharing(SharingKind.MIG, mig_layout=("1g.10gb",) * 7),
    mig_strategy=MigStrategy.MIXED,
    dynamic_mig=True,
)


def mig(profile: str) -> GpuRequest:
    return GpuRequest(
        GpuKind.MIG, count=1, mig_profile=profile, resource=f"nvidia.com/mig-{profile}"
    )


REQUESTS = [whole(1), whole(2), fraction(300), mig("1g.10gb"), mig("3g.40gb"), mig("7g.80gb")]


def cluster() -> ClusterState:
    return ClusterState(
        [
            gpu_node("whole", 4, A100),
            gpu_node("mig", 2, A100, sharing=DYNAMIC_MIG),
            gpu_node("frac", 2, A100, sharing=FRACTIONAL),
        ]
    )


OPS = st.lists(
    st.one_of(
        st.tuples(st.just("place"), st.integers(0, len(REQUESTS) - 1)),
        st.tuples(st.just("release"), st.integers(0, 50)),
        st.tuples(st.just("health"), st.integers(0, 2), st.integers(0, 3)),
        st.tuples(st.just("open"), st.booleans()),
        st.tuples(st.just("close")),
    ),
    max_size=40,
)


def run(state: ClusterState, sched: Scheduler, ops: list[tuple[Any, ...]], tag: str) -> None:
    """Apply `ops`; "open" starts a nested trial (kept on close when its flag is set)."""
    with ExitStack() as stack:
        opened: list[tuple[ExitStack, Trial, bool]] = []
        for n, op in enumerate(ops):
            if op[0] == "place":
                sched.place(pod(f"{tag}{n}", REQUESTS[op[1]]))
            elif op[0] == "release" and state.bindings:
                keys = list(state.bindings)
                state.release(keys[op[1] % len(keys)])
            elif op[0] == "health":
                node, gpu = op[1], op[2] % state.nodes[op[1]].gpu_count
                state.set_gpu_health(node, gpu, not state.gpu_healthy[node, gpu])
            elif op[0] == "open":
                inner = ExitStack()
                opened.append((inner, inner.enter_context(state.trial()), op[1]))
            elif op[0] == "close" and opened:
                inner, trial, keep = opened.pop()
                if keep:
                    trial.keep()
                inner.close()
            state.check_invariants()
        for inner, _, _ in reversed(opened):
            stack.push(inner)


@settings(max_examples=150, deadline=None)
@given(OPS, OPS)
def test_any_sequence_of_trials_leaves_the_state_bit_identical(prefix, ops):
    state = cluster()
    sched = Scheduler(state)
    run(state, sched, prefix, "real")  # some real history first
    before = state_snapshot(state)
    versions = state.node_version.copy()
    with state.trial():
        run(state, sched, ops, "what-if")
    state.check_invariants()
    assert_same_state(before, state_snapshot(state))
    assert np.array_equal(versions, state.node_version)


def test_a_kept_trial_keeps_its_changes_and_the_next_bump_is_fresh():
    state = cluster()
    sched = Scheduler(state)
    seen = {state.changes}
    with state.trial() as trial:
        assert isinstance(sched.place(pod("p", whole(1))), Placement)
        seen.add(state.changes)
        trial.keep()
    assert len(state.bindings) == 1
    with state.trial():
        sched.place(pod("q", whole(1)))
        inside = state.changes
    assert inside not in seen and state.changes in seen
    state.release(next(iter(state.bindings)))
    assert state.changes not in seen | {inside}


def test_unbind_takes_back_a_dynamic_mig_reshape_exactly():
    state = cluster()
    sched = Scheduler(state)
    keep = sched.place(pod("keep", mig("1g.10gb")))
    assert isinstance(keep, Placement)
    before = state_snapshot(state)
    big = sched.place(pod("big", mig("7g.80gb")))
    assert isinstance(big, Placement) and big.reconfigure
    assert not before["log"] and len(state.mig_reconfigurations) == 1
    sched.unbind(big)
    after = state_snapshot(state)
    # Everything but the version counters, which took fresh stamps.
    after["counters"] = before["counters"]
    after["arrays"]["node_version"] = before["arrays"]["node_version"]
    assert_same_state(before, after)
    state.check_invariants()
