"""Queueing semantics on small scenarios whose right answer is worked out here."""

from __future__ import annotations

from dataclasses import replace

from gpuplane.catalog.resources import GPU
from gpuplane.objects.queues import (
    BorrowWithinCohort,
    ClusterQueue,
    Cohort,
    FlavorQuotas,
    Preemption,
    QueueingStrategy,
    ReclaimWithinCohort,
    ResourceFlavor,
    ResourceGroup,
    ResourceQuotaSpec,
    WithinClusterQueue,
)
from gpuplane.queueing.flavors import assign_flavors
from gpuplane.queueing.quota import QuotaTree
from gpuplane.queueing.refusals import Refusal

from queueing_helpers import admitted, cq, engine, evicted, job


def gpu_usage(q, queue):
    return q.usage(queue).get(("default", GPU), 0) // 1000


# -- quota, borrowing, lending -------------------------------------------------------------


def test_without_cohort_a_queue_never_exceeds_nominal():
    q = engine([cq("a", 4)])
    for i in range(6):
        q.submit(job(f"j{i}", "a", created=i), 0)
    assert admitted(q.cycle(0)) == ["j0", "j1", "j2", "j3"]
    assert q.reasons["ns/j4"].refusal is Refusal.INSUFFICIENT_QUOTA
    assert str(q.reasons["ns/j4"]) == "insufficient quota"


def test_borrowing_from_an_idle_queue_in_the_cohort():
    q = engine([cq("a", 4, "c"), cq("b", 4, "c")])
    for i in range(6):
        q.submit(job(f"j{i}", "a", created=i), 0)
    assert len(q.cycle(0).admitted) == 6  # 4 own + 2 borrowed from b's idle quota
    assert q.borrowed_gpu_milli("a") == 2000


def test_borrowing_limit_caps_borrowing():
    q = engine([cq("a", 4, "c", borrowing=1), cq("b", 4, "c")])
    for i in range(8):
        q.submit(job(f"j{i}", "a", created=i), 0)
    assert len(q.cycle(0).admitted) == 5


def test_lending_limit_keeps_part_of_the_quota_home():
    q = engine([cq("a", 4, "c"), cq("b", 4, "c", lending=1)])
    for i in range(8):
        q.submit(job(f"j{i}", "a", created=i), 0)
    assert len(q.cycle(0).admitted) == 5  # b lends only 1 GPU
    # b's guaranteed 3 GPUs are still its own.
    for i in range(3):
        q.submit(job(f"b{i}", "b", created=10 + i), 1)
    assert len(q.cycle(1).admitted) == 3


def test_reclaim_within_cohort_preempts_the_borrower():
    policy = Preemption(reclaim_within_cohort=ReclaimWithinCohort.ANY)
    q = engine([cq("a", 4, "c"), cq("b", 4, "c", preemption=policy)], nodes=1)
    for i in range(8):
        q.submit(job(f"a{i}", "a", created=i), 0)
    assert len(q.cycle(0).admitted) == 8  # a borrows all of b's quota
    q.submit(job("b0", "b", created=20), 10)
    result = q.cycle(10)
    assert admitted(result) == ["b0"]
    assert len(result.evicted) == 1 and result.evicted[0].by == "ns/b0"
    assert q.pending == 1  # the victim is queued again


def test_reclaim_lower_priority_spares_equal_priority_borrowers():
    policy = Preemption(reclaim_within_cohort=ReclaimWithinCohort.LOWER_PRIORITY)
    q = engine([cq("a", 4, "c"), cq("b", 4, "c", preemption=policy)], nodes=1)
    for i in range(8):
        q.submit(job(f"a{i}", "a", created=i, priority=5), 0)
    q.cycle(0)
    q.submit(job("b0", "b", created=20, priority=5), 10)
    result = q.cycle(10)
    assert admitted(result) == [] and evicted(result) == []


def test_borrow_within_cohort_preempts_lower_priority_borrowers_elsewhere():
    policy = Preemption(borrow_within_cohort=BorrowWithinCohort.LOWER_PRIORITY)
    queues = [cq("a", 4, "c", preemption=policy), cq("b", 2, "c"), cq("idle", 4, "c")]
    q = engine(queues, nodes=1)
    for i in range(4):
        q.submit(job(f"a{i}", "a", created=i, priority=10), 0)
    for i in range(4):
        q.submit(job(f"b{i}", "b", created=10 + i, priority=1), 0)
    assert len(q.cycle(0).admitted) == 8  # the node is full; b borrows 2 of idle's GPUs
    # a's next job must borrow too, and the node is full: it preempts a borrowing b job.
    q.submit(job("a-big", "a", created=30, priority=10), 5)
    result = q.cycle(5)
    assert admitted(result) == ["a-big"]
    assert len(result.evicted) == 1 and evicted(result)[0].startswith("b")


def test_queues_within_their_nominal_quota_are_never_preempted_by_others():
    policy = Preemption(
        borrow_within_cohort=BorrowWithinCohort.LOWER_PRIORITY,
        reclaim_within_cohort=ReclaimWithinCohort.ANY,
    )
    q = engine([cq("a", 4, "c", preemption=policy), cq("b", 4, "c"), cq("idle", 4, "c")], nodes=1)
    for i in range(4):
        q.submit(job(f"b{i}", "b", created=i, priority=1), 0)
        q.submit(job(f"a{i}", "a", created=i, priority=10), 0)
    q.cycle(0)
    q.submit(job("a-big", "a", created=30, priority=10), 5)
    result = q.cycle(5)
    assert admitted(result) == [] and evicted(result) == []


# -- queueing strategies ---------------------------------------------------------------------


def test_strict_fifo_blocks_behind_the_head_best_effort_does_not():
    for strategy, expected in (
        (QueueingStrategy.STRICT_FIFO, []),
        (QueueingStrategy.BEST_EFFORT_FIFO, ["small"]),
    ):
        q = engine([cq("a", 4, strategy=strategy)])
        q.submit(job("big", "a", gpus_per_pod=8, created=0), 0)  # more than the quota
        q.submit(job("small", "a", created=1), 0)
        assert admitted(q.cycle(0)) == expected, strategy


def test_priority_orders_the_queue():
    q = engine([cq("a", 1)])
    q.submit(job("low", "a", priority=1, created=0), 0)
    q.submit(job("high", "a", priority=9, created=5), 0)
    assert admitted(q.cycle(0)) == ["high"]


# -- preemption within a queue ---------------------------------------------------------------


def test_within_queue_lower_priority_and_cheapest_victims():
    policy = Preemption(within_cluster_queue=WithinClusterQueue.LOWER_PRIORITY)
    q = engine([cq("a", 2, preemption=policy)], nodes=1)
    q.submit(job("old", "a", priority=1, created=0, checkpoint=100), 0)
    q.submit(job("new", "a", priority=1, created=1, checkpoint=100), 0)
    q.cycle(0)
    # At t=150 both lost 50 s since their checkpoint at 100.
    q.submit(job("urgent", "a", priority=5, created=2), 150)
    result = q.cycle(150)
    assert admitted(result) == ["urgent"] and len(result.evicted) == 1
    # Equal lost work and priority: the most recently admitted goes ("new", created later
    # but admitted in the same cycle, so the tie falls to admission order).
    peer = job("peer", "a", priority=5, created=3)
    q.submit(peer, 160)
    assert evicted(q.cycle(160)) != ["urgent"]  # LowerPriority never takes an equal peer


def test_victims_least_lost_work_first():
    policy = Preemption(within_cluster_queue=WithinClusterQueue.LOWER_PRIORITY)
    q = engine([cq("a", 2, preemption=policy)], nodes=1)
    q.submit(job("ckpt-often", "a", priority=1, created=0, checkpoint=10), 0)
    q.submit(job("never-ckpt", "a", priority=1, created=1), 0)
    q.cycle(0)
    q.submit(job("urgent", "a", priority=5, created=2), 95)
    result = q.cycle(95)
    # ckpt-often loses 5 s (last checkpoint at 90); never-ckpt would lose 95 s.
    assert evicted(result) == ["ckpt-often"]
    assert result.evicted[0].lost_work == 5


def test_lower_or_newer_equal_priority():
    policy = Preemption(within_cluster_queue=WithinClusterQueue.LOWER_OR_NEWER_EQUAL_PRIORITY)
    q = engine([cq("a", 1, preemption=policy)], nodes=1)
    q.submit(job("running", "a", priority=3, created=10), 10)
    q.cycle(10)
    q.submit(job("older-equal", "a", priority=3, created=5), 20)
    assert evicted(q.cycle(20)) == ["running"]


def test_never_preempts_with_default_policy():
    q = engine([cq("a", 1)], nodes=1)
    q.submit(job("low", "a", priority=0), 0)
    q.cycle(0)
    q.submit(job("high", "a", priority=100, created=1), 1)
    assert evicted(q.cycle(1)) == []


def test_preemption_never_breaks_a_gang():
    policy = Preemption(within_cluster_queue=WithinClusterQueue.LOWER_PRIORITY)
    q = engine([cq("a", 8, preemption=policy)], nodes=1)
    q.submit(job("gang", "a", pods=4, priority=1), 0)
    q.cycle(0)
    q.submit(job("one", "a", gpus_per_pod=6, priority=9, created=1), 1)
    result = q.cycle(1)
    assert evicted(result) == ["gang"]
    assert not any(k.startswith("ns/gang") for k in q.state.bindings)  # every pod released


# -- gangs, placement-aware admission, backfill ---------------------------------------------


def test_gang_is_all_or_nothing():
    q = engine([cq("a", 100)], nodes=2, gpus_per_node=4)
    q.submit(job("gang", "a", gpus_per_pod=3, pods=3), 0)  # needs 3 nodes with 3 free GPUs
    result = q.cycle(0)
    assert admitted(result) == [] and not q.state.bindings


def test_placement_aware_admission_vs_quota_only_on_fragmented_gpus():
    """Kueue admits on quota alone; the job then sits unschedulable. gpuplane does not."""
    for aware in (True, False):
        q = engine([cq("a", 16)], nodes=2, gpus_per_node=8, placement_aware=aware)
        # Fragment both nodes: 5 GPUs taken on each, 6 free in all, but at most 3 per node.
        for i in range(2):
            q.submit(job(f"filler{i}", "a", gpus_per_pod=5, created=i), 0)
        q.cycle(0)
        q.submit(job("needs-4", "a", gpus_per_pod=4, created=5), 1)
        result = q.cycle(1)
        if aware:
            assert admitted(result) == []
            assert q.reasons["ns/needs-4"].refusal is Refusal.CANNOT_PLACE
            assert "cannot place" in str(q.reasons["ns/needs-4"])
            assert q.unplaced() == []
        else:
            assert admitted(result) == ["needs-4"]  # admitted by quota...
            assert q.unplaced() == ["ns/needs-4"]  # ...and unschedulable


def test_gang_timeout_gives_up_the_reservation():
    q = engine([cq("a", 100)], nodes=2, gpus_per_node=4, gang_timeout=60)
    q.submit(job("blocker", "a", gpus_per_pod=3, duration=1000), 0)
    q.cycle(0)
    q.submit(job("gang", "a", gpus_per_pod=4, pods=2, created=1, duration=100), 1)
    q.cycle(1, lambda key: 1000.0)
    assert q.reservation is not None and q.reservation.key == "ns/gang"
    result = q.cycle(70, lambda key: 1000.0)
    assert result.timed_out == ["ns/gang"] and q.gang_timeouts == 1


def test_backfill_only_what_ends_before_the_reserved_gang():
    q = engine([cq("a", 100)], nodes=2, gpus_per_node=4)
    q.submit(job("blocker", "a", gpus_per_pod=2, duration=100), 0)
    q.cycle(0)
    # What the simulator would answer: each running workload's expected end.
    ends = {"ns/blocker": 100.0, "ns/short": 52.0}
    # The gang needs both nodes whole: it can start when the blocker ends at t=100.
    q.submit(job("gang", "a", gpus_per_pod=4, pods=2, created=1, duration=500), 1)
    q.cycle(1, ends.get)
    assert q.reservation is not None and q.reservation.start_by == 100.0
    q.submit(job("short", "a", created=2, duration=50), 2)  # ends at 52 < 100: may backfill
    q.submit(job("long", "a", created=3, duration=500), 2)  # ends at 502: would delay the gang
    result = q.cycle(2, ends.get)
    assert admitted(result) == ["short"]
    assert q.reasons["ns/long"].refusal is Refusal.RESERVED
    assert "reservation" in str(q.reasons["ns/long"])
    assert q.reservation.start_by == 100.0  # worked out again with short running: unchanged


def test_work_that_cannot_use_the_gangs_nodes_is_not_held_back():
    q = engine([cq("a", 100)], nodes=2, gpus_per_node=4)
    q.submit(job("blocker", "a", gpus_per_pod=2, duration=100), 0)
    q.cycle(0)
    q.submit(job("gang", "a", gpus_per_pod=4, pods=2, created=1, duration=500), 1)
    q.cycle(1, {"ns/blocker": 100.0}.get)
    cpu_only = job("cpu-only", "a", gpus_per_pod=0, created=2, duration=5000)
    pinned = replace(
        cpu_only,
        key="ns/elsewhere",
        pod_sets=(
            replace(
                cpu_only.pod_sets[0],
                template=replace(cpu_only.pod_sets[0].template, node_selector={"zone": "x"}),
            ),
        ),
    )
    q.submit(pinned, 2)  # no node has zone=x: it can never compete with the gang
    q.cycle(2, {"ns/blocker": 100.0}.get)
    assert "reservation" not in str(q.reasons.get("ns/elsewhere", ""))


# -- fair sharing and hierarchical cohorts ---------------------------------------------------


def test_fair_sharing_admits_the_queue_with_the_lowest_share_first():
    q = engine(
        [cq("a", 0, "c", weight=1), cq("b", 0, "c", weight=3), cq("pool", 8, "c")],
        nodes=1,
        fair_sharing=True,
    )
    for i in range(8):
        q.submit(job(f"a{i}", "a", created=i), 0)
        q.submit(job(f"b{i}", "b", created=i), 0)
    q.cycle(0)
    a, b = gpu_usage(q, "a"), gpu_usage(q, "b")
    assert a + b == 8
    assert (a, b) == (2, 6)  # 1:3 weights


def test_hierarchical_cohort_lends_within_the_subtree_first():
    cohorts = (Cohort("org"), Cohort("team-x", parent="org"), Cohort("team-y", parent="org"))
    queues = [cq("x1", 2, "team-x"), cq("x2", 2, "team-x"), cq("y1", 4, "team-y")]
    q = engine(queues, nodes=1, cohorts=cohorts)
    for i in range(8):
        q.submit(job(f"j{i}", "x1", created=i), 0)
    assert len(q.cycle(0).admitted) == 8  # x1 borrows from x2 and then from y1 across org
    tree = q.tree
    fr = ("default", GPU)
    assert tree.nodes["x1"].usage[fr] == 8000
    # Nothing is held back by a lending limit, so all of it is drawn from the pools above.
    assert tree.cohorts["team-x"].usage[fr] == 8000 and tree.cohorts["org"].usage[fr] == 8000
    assert tree.available(tree.nodes["y1"], fr) == 0


def test_lending_limit_in_a_subtree_protects_it_from_the_other_subtree():
    cohorts = (Cohort("org"), Cohort("team-x", parent="org"), Cohort("team-y", parent="org"))
    queues = [cq("x1", 2, "team-x"), cq("y1", 4, "team-y", lending=1)]
    q = engine(queues, nodes=1, cohorts=cohorts)
    for i in range(8):
        q.submit(job(f"j{i}", "x1", created=i), 0)
    assert len(q.cycle(0).admitted) == 3  # 2 own + the 1 GPU y1 lends


def test_flavor_whose_labels_contradict_the_pods_selector_is_passed_over():

    quota = {GPU: ResourceQuotaSpec(8000)}
    group = ResourceGroup((GPU,), (FlavorQuotas("a100", quota), FlavorQuotas("l4", quota)))
    queue = ClusterQueue("q", (group,))
    flavors = {
        "a100": ResourceFlavor("a100", {"pool": "a100"}),
        "l4": ResourceFlavor("l4", {"pool": "l4"}),
    }
    tree = QuotaTree([queue])
    choice = assign_flavors(queue, {GPU: 1000}, tree, flavors, [{"pool": "l4"}])
    assert not isinstance(choice, str) and choice.flavors == {GPU: "l4"}
    unpinned = assign_flavors(queue, {GPU: 1000}, tree, flavors, [{}])
    assert not isinstance(unpinned, str) and unpinned.flavors == {GPU: "a100"}
