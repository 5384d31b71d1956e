"""A gang's failed try is skipped only when trying again would fail the same way.

Two engines run the same random events, one remembering failed tries (`retry`) and one trying
every time; every cycle must admit and evict the same workloads onto the same devices, and
leave the same reasons.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpuplane.objects.queues import Preemption, ReclaimWithinCohort, WithinClusterQueue
from gpuplane.placement.scheduler import Placement
from gpuplane.queueing import Queueing

from queueing_helpers import cq, engine, job

NODES, GPUS = 4, 4
PREEMPT = Preemption(WithinClusterQueue.LOWER_PRIORITY, ReclaimWithinCohort.ANY)


def build(remember: bool, preemption: Preemption = PREEMPT) -> tuple[Queueing, list[int]]:
    """An engine, and a counter of the pods it sent to the scheduler."""
    queues = [
        cq("a", 8, cohort="co", preemption=preemption),
        cq("b", 8, cohort="co", preemption=preemption),
    ]
    q = engine(queues, nodes=NODES, gpus_per_node=GPUS)
    if not remember:
        q.gangs._repeatable = lambda: False  # type: ignore[method-assign]
    tries = [0]
    place = q.scheduler.place

    def counted(pod):  # type: ignore[no-untyped-def]
        tries[0] += 1
        return place(pod)

    q.scheduler.place = counted  # type: ignore[method-assign]
    return q, tries


def outcome(q: Queueing, result) -> tuple[object, ...]:  # type: ignore[no-untyped-def]
    return (
        [(a.workload.key, [(p.node, p.gpus) for p in a.placements]) for a in result.admitted],
        [(e.workload.key, e.reason) for e in result.evicted],
        sorted((k, b.node, b.gpus) for k, b in q.state.bindings.items()),
        sorted((k, r.refusal) for k, r in q.reasons.items()),
        q.pending,
    )


EVENTS = st.lists(
    st.one_of(
        st.tuples(
            st.just("submit"),
            st.sampled_from("ab"),
            st.sampled_from([1, 2, 3, 4]),  # GPUs per pod
            st.integers(1, 3),  # pods
            st.integers(0, 2),  # priority
        ),
        st.tuples(st.just("finish"), st.integers(0, 100)),
        st.tuples(st.just("health"), st.integers(0, NODES - 1), st.booleans()),
    ),
    min_size=5,
    max_size=60,
)


@settings(max_examples=200, deadline=None)
@given(EVENTS)
def test_remembered_failures_change_no_decision(events: list[tuple]) -> None:  # type: ignore[type-arg]
    runs = [build(True), build(False)]
    for n, event in enumerate(events):
        now = float(n)
        seen = []
        for q, _ in runs:
            if event[0] == "submit":
                _, queue, gpus, pods, priority = event
                q.submit(job(f"w{n}", queue, gpus, pods, priority, created=now), now)
            elif event[0] == "finish" and q.active:
                keys = sorted(q.active)
                q.finish(keys[event[1] % len(keys)], now)
            elif event[0] == "health":
                q.state.set_gpu_health(event[1], 0, event[2])
                if event[2]:
                    q.capacity_added()
            seen.append(outcome(q, q.cycle(now)))
        assert seen[0] == seen[1], event
    assert runs[0][1][0] <= runs[1][1][0]


@pytest.mark.parametrize("remember", [True, False])
def test_a_gang_is_not_tried_again_while_its_nodes_stay_as_they_were(remember: bool) -> None:
    q = engine([cq("a", 16), cq("b", 16)], nodes=NODES, gpus_per_node=GPUS)
    if not remember:
        q.gangs._repeatable = lambda: False  # type: ignore[method-assign]
    tries = [0]
    place = q.scheduler.place

    def counted(pod):  # type: ignore[no-untyped-def]
        tries[0] += 1
        return place(pod)

    q.scheduler.place = counted  # type: ignore[method-assign]
    # A 3-GPU pod on every node and two 1-GPU pods: no node is left with 4 GPUs free.
    for i in range(NODES):
        q.submit(job(f"big{i}", "a", 3), 0.0)
    q.submit(job("one0", "a", 1), 0.0)
    q.submit(job("one1", "a", 1), 0.0)
    q.cycle(0.0)
    assert len(q.active) == NODES + 2
    q.submit(job("gang", "b", 4, pods=2), 1.0)
    q.cycle(1.0)
    assert "ns/gang" not in q.active
    before = tries[0]
    # Room released where the gang still cannot go: it is woken, and refused without a try
    # when it remembers the nodes that decided its last one.
    q.finish("ns/one0", 2.0)
    q.cycle(2.0)
    assert "ns/gang" not in q.active
    assert tries[0] == before + (0 if remember else 1)
    # Two nodes emptied: tried, and admitted.
    emptied = sorted({a.placements[0].node_index for a in q.active.values()})[:2]
    for key in sorted(q.active):
        if q.active[key].placements[0].node_index in emptied:
            q.finish(key, 3.0)
    q.cycle(3.0)
    assert "ns/gang" in q.active


@settings(max_examples=60, deadline=None)
@given(EVENTS, st.sampled_from([1, 2, 3, 4, 5]))
def test_feasible_nodes_are_those_schedule_chooses_among(events: list[tuple], gpus: int) -> None:  # type: ignore[type-arg]
    q, _ = build(True)
    for n, event in enumerate(events):
        if event[0] == "submit":
            _, queue, g, pods, priority = event
            q.submit(job(f"w{n}", queue, g, pods, priority, created=float(n)), float(n))
        elif event[0] == "health":
            q.state.set_gpu_health(event[1], 0, event[2])
        q.cycle(float(n))
    pod = job("probe", "a", gpus).pods()[0]
    feasible = q.scheduler.feasible(pod)
    decision = q.scheduler.schedule(pod)
    if feasible.any():
        assert isinstance(decision, Placement) and feasible[decision.node_index]
    else:
        assert not isinstance(decision, Placement)
