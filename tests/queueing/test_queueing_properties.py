"""Random workloads, arrivals, finishes, failures and preemptions through the admission engine.

After every event: quota never exceeded (as the QuotaTree defines it), no workload partly
bound, nothing over-allocated; and once everything has finished, the cluster is as it was.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from gpuplane.objects.queues import (
    BorrowWithinCohort,
    Preemption,
    QueueingStrategy,
    ReclaimWithinCohort,
    WithinClusterQueue,
)
from gpuplane.queueing import Queueing
from gpuplane.queueing.quota import FlavorResource, QuotaNode

from helpers import state_snapshot
from queueing_helpers import cq, engine, job

PREEMPT = Preemption(
    WithinClusterQueue.LOWER_PRIORITY,
    ReclaimWithinCohort.ANY,
    BorrowWithinCohort.LOWER_PRIORITY,
)
NODES, GPUS = 3, 4


def build(strict: bool, fair: bool, aware: bool, backfill: bool) -> Queueing:
    strategy = QueueingStrategy.STRICT_FIFO if strict else QueueingStrategy.BEST_EFFORT_FIFO
    queues = [
        cq("a", 6, cohort="co", strategy=strategy, preemption=PREEMPT),
        cq("b", 4, cohort="co", borrowing=2, preemption=PREEMPT, weight=2.0),
        cq("c", 2, cohort="co", lending=1, strategy=strategy, preemption=PREEMPT),
    ]
    return engine(
        queues,
        nodes=NODES,
        gpus_per_node=GPUS,
        fair_sharing=fair,
        placement_aware=aware,
        backfill=backfill,
        gang_timeout=50.0,
    )


def _tree_quota(node: QuotaNode) -> dict[FlavorResource, int]:
    total = dict(node.nominal)
    for child in node.children:
        for fr, amount in _tree_quota(child).items():
            total[fr] = total.get(fr, 0) + amount
    return total


def check(q: Queueing) -> None:
    q.state.check_invariants()
    # Quota: the tree's usage is what the admitted workloads hold, within every limit.
    held: dict[str, dict[FlavorResource, int]] = {name: {} for name in q.tree.nodes}
    for active in q.active.values():
        for fr, amount in active.amounts.items():
            held[active.queue][fr] = held[active.queue].get(fr, 0) + amount
    for name in q.queues:
        node = q.tree.nodes[name]
        used = {fr: a for fr, a in node.usage.items() if a}
        assert used == held[name], name
        for fr, amount in used.items():
            limit = node.borrowing_limit.get(fr)
            if limit is not None:
                assert amount <= node.nominal.get(fr, 0) + limit, (name, fr)
    for root in q.tree.cohorts.values():
        if root.parent is None:
            quota = _tree_quota(root)
            total: dict[FlavorResource, int] = {}
            for name in q.queues:
                for fr, amount in held[name].items():
                    total[fr] = total.get(fr, 0) + amount
            assert all(a <= quota.get(fr, 0) for fr, a in total.items()), root.name
    # Gangs: all pods bound where the admission says, or (quota-only mode) none; no strays.
    owned: set[str] = set()
    for key, active in q.active.items():
        if not active.placements:
            assert not q.config.placement_aware, key
            continue
        assert len(active.placements) == active.workload.pod_count, key
        for p in active.placements:
            binding = q.state.bindings.get(p.pod.key)
            assert binding is not None and binding.node == p.node_index, p.pod.key
            owned.add(p.pod.key)
    assert set(q.state.bindings) == owned


SUBMIT = st.tuples(
    st.just("submit"),
    st.sampled_from("abc"),
    st.sampled_from([1, 1, 2, 4]),  # GPUs per pod
    st.integers(1, 3),  # pods
    st.integers(0, 3),  # priority
    st.sampled_from([None, 5.0, 30.0]),  # duration
)
EVENTS = st.lists(
    st.one_of(
        SUBMIT,
        SUBMIT,
        SUBMIT,
        st.tuples(st.just("tick")),
        st.tuples(st.just("finish"), st.integers(0, 100)),
        st.tuples(st.just("fail"), st.integers(0, NODES - 1)),
        st.tuples(st.just("recover"), st.integers(0, NODES - 1)),
    ),
    min_size=5,
    max_size=50,
)


@settings(max_examples=250, deadline=None)
@given(EVENTS, st.booleans(), st.booleans(), st.booleans(), st.booleans())
def test_random_events_keep_every_invariant(events, strict, fair, aware, backfill):
    q = build(strict, fair, aware, backfill)
    state = q.state
    before = state_snapshot(state, versions=False)
    now = 0.0

    def expected_end(key: str) -> float | None:
        active = q.active.get(key)
        duration = None if active is None else active.workload.duration
        return None if duration is None else active.admitted_at + duration

    for n, event in enumerate(events):
        now += 1.0
        kind = event[0]
        if kind == "submit":
            _, queue, gpus, pods, priority, duration = event
            w = job(f"w{n}", queue, gpus, pods, priority, created=now, duration=duration)
            assert q.submit(w, now) is None
        elif kind == "finish" and q.active:
            keys = sorted(q.active)
            q.finish(keys[event[1] % len(keys)], now)
        elif kind == "fail":
            node = event[1]
            hit = [k for k, a in q.active.items() if node in {p.node_index for p in a.placements}]
            for key in sorted(hit):
                q.evict(key, now, "NodeFailure")
            for g in range(GPUS):
                state.set_gpu_health(node, g, False)
        elif kind == "recover":
            for g in range(GPUS):
                state.set_gpu_health(event[1], g, True)
            q.capacity_added()
        check(q)
        # The engine runs a cycle after every event, as the simulator does.
        result = q.cycle(now, expected_end=expected_end)
        for eviction in result.evicted:
            assert eviction.reason == "Preempted" and eviction.workload.key not in q.active
        check(q)
    # Release undoes reserve: with every GPU back and every workload finished, the cluster
    # is exactly as it was built and no quota is held.
    for node in range(NODES):
        for g in range(GPUS):
            if not state.gpu_healthy[node, g]:
                state.set_gpu_health(node, g, True)
    for key in sorted(q.active):
        q.finish(key, now)
    check(q)
    after = state_snapshot(state, versions=False)
    for name, array in before["arrays"].items():
        assert np.array_equal(array, after["arrays"][name]), name
    assert after["bindings"] == [] and after["users"] == before["users"]
    assert all(not any(node.usage.values()) for node in q.tree.nodes.values())
