"""The FGD paper's six placement policies: each one's rule on small clusters worked by hand."""

from __future__ import annotations

import numpy as np
import pytest

from gpuplane.cluster import ClusterState
from gpuplane.placement import Placement, Scheduler, profile
from gpuplane.placement.fragmentation import Shape, TargetWorkload
from gpuplane.placement.pod_index import PodsByNode
from gpuplane.placement.scores.gpu_clustering import binding_kind

from helpers import FRACTIONAL, fraction, gpu_node, pod, whole

SIX = ("random", "dotprod", "gpu-clustering", "gpu-packing", "best-fit", "fgd")


def share_node(name: str, gpus: int = 2, cpu_milli: int = 64_000):
    return gpu_node(name, gpus=gpus, cpu_milli=cpu_milli, sharing=FRACTIONAL)


def placed(scheduler: Scheduler, p) -> Placement:
    decision = scheduler.place(p)
    assert isinstance(decision, Placement), decision
    return decision


def scores(scheduler: Scheduler, p) -> list[int]:
    """The profile's score of every node for pod p (nothing is placed)."""
    from gpuplane.placement.framework import Cycle
    from gpuplane.placement.gpu_fit import GpuFit

    state = scheduler.state
    cycle = Cycle(
        p,
        state,
        scheduler.cache,
        GpuFit(p.gpu, state),
        rng=scheduler.rng,
        workload=scheduler.workload,
    )
    cycle.feasible = np.ones(len(state), dtype=np.bool_)
    [(plugin, _)] = scheduler.profile.scores
    return [int(v) for v in plugin.score(cycle)]


@pytest.mark.parametrize("name", SIX)
def test_every_policy_places_whole_shares_and_cpu_only_and_refuses_what_fits_nowhere(name):
    state = ClusterState([share_node("a"), share_node("b")])
    s = Scheduler(state, name, rng=np.random.default_rng(1))
    assert placed(s, pod("w", whole(2))).gpus in ((0, 1),)
    assert placed(s, pod("f", fraction(300))).gpu_milli == (300,)
    assert placed(s, pod("c", cpu_milli=2000)).gpus == ()
    assert not isinstance(s.place(pod("big", whole(3))), Placement)
    state.check_invariants()


def test_best_fit_scores_the_leftover_half_cpu_half_gpu():
    state = ClusterState([share_node("a", cpu_milli=64_000), share_node("b", cpu_milli=32_000)])
    s = Scheduler(state, "best-fit")
    # a: (64-8)/128*0.5 + (2000-1000)/8000*0.5 = 0.28125 -> 71; b: 0.09375 + 0.0625 -> 84
    assert scores(s, pod("p", whole(1), cpu_milli=8_000)) == [71, 84]
    assert placed(s, pod("p", whole(1), cpu_milli=8_000)).node == "b"


def test_dot_product_prefers_the_node_whose_free_resources_align_least():
    state = ClusterState([share_node("a", cpu_milli=64_000), share_node("b", cpu_milli=32_000)])
    s = Scheduler(state, "dotprod")
    # a: 1 - (0.5*0.0625 + 0.25*0.125)/2 = 0.96875 -> 96; b: 1 - (0.25*0.0625 + 0.25*0.125)/2
    assert scores(s, pod("p", whole(1), cpu_milli=8_000)) == [96, 97]


def test_gpu_packing_tiers_shared_gpu_then_busy_node_then_idle_node():
    state = ClusterState([share_node("idle", gpus=8), share_node("busy"), share_node("shared")])
    s = Scheduler(state, "gpu-packing")
    placed(s, pod("x", whole(1), node_name="busy"))
    placed(s, pod("y", fraction(500), node_name="shared"))
    # idle 8-GPU node: max(33 - 8, 8) = 25; busy: needs an idle GPU -> 50 - 1 = 49;
    # shared: its 500-free GPU -> 100 - (50 // 10) = 95
    assert scores(s, pod("p", fraction(300))) == [25, 49, 95]
    assert scores(s, pod("p", cpu_milli=1000)) == [0, 0, 0]


def test_gpu_clustering_keeps_kinds_together_then_prefers_fuller_nodes():
    nodes = [share_node("shares"), share_node("wholes"), share_node("mixed"), share_node("idle")]
    state = ClusterState(nodes)
    s = Scheduler(state, "gpu-clustering")
    placed(s, pod("s1", fraction(500), node_name="shares"))
    placed(s, pod("w1", whole(1), node_name="wholes"))
    placed(s, pod("s2", fraction(500), node_name="mixed"))
    placed(s, pod("w2", whole(1), node_name="mixed"))
    # fullness 25 * (8000 - free) // 8000: shares 1500 free -> 20, wholes 1000 -> 21,
    # mixed 500 -> 23, idle 2000 -> 18; tiers: same kind only +75, among others +50, idle +25
    assert scores(s, pod("p", fraction(200))) == [95, 21, 73, 43]
    assert scores(s, pod("p", whole(1))) == [20, 96, 73, 43]
    assert scores(s, pod("p", cpu_milli=1000)) == [0, 0, 0, 0]


def test_gpu_clustering_follows_releases():
    state = ClusterState([share_node("a")])
    s = Scheduler(state, "gpu-clustering")
    placed(s, pod("s", fraction(500)))
    assert scores(s, pod("p", whole(1)))[0] == 20  # other kind: 25 * 6500 // 8000 + 0 tier
    state.release("default/s")
    assert scores(s, pod("p", whole(1)))[0] == 43  # no GPU task: 25 * 6000 // 8000 + 25


def test_random_is_reproducible_per_seed_and_uses_every_node():
    def run(seed: int) -> list[str]:
        state = ClusterState([share_node(f"n{i}", gpus=8) for i in range(4)])
        s = Scheduler(state, "random", rng=np.random.default_rng(seed))
        return [placed(s, pod(f"p{i}", fraction(100))).node for i in range(40)]

    assert run(7) == run(7)
    assert run(7) != run(8)
    assert set(run(7)) == {"n0", "n1", "n2", "n3"}


def test_random_picks_a_gpu_among_those_that_fit():
    state = ClusterState([share_node("a", gpus=4)])
    s = Scheduler(state, "random", rng=np.random.default_rng(0))
    big = placed(s, pod("big", fraction(950)))  # its GPU keeps 50 free: too little below
    gpus = {placed(s, pod(f"p{i}", fraction(100))).gpus[0] for i in range(12)}
    assert big.gpus[0] not in gpus and len(gpus) > 1


def test_fgd_fills_the_gpu_that_leaves_no_sliver_where_best_fit_would_not():
    # M: tasks of 500 milli. GPUs free: 1000 and 700. A 300 task on the 700 GPU leaves 400,
    # a sliver no 500 task can use (change -400 -> score floor(100 sigmoid(-0.4)) = 40); on
    # the idle GPU it leaves 700 (no change -> 50). Best fit picks the fuller GPU.
    def first_gpu(policy: str) -> int:
        state = ClusterState([share_node("a")])
        workload = TargetWorkload((Shape(1000, 500, 1),), (1.0,))
        s = Scheduler(state, policy, workload=workload)
        placed(s, pod("seed", fraction(300)))  # both policies: GPU 0 -> 700 free
        return placed(s, pod("p", fraction(300))).gpus[0]

    assert first_gpu("best-fit") == 0
    assert first_gpu("fgd") == 1


def test_fgd_scores_are_the_reference_integer_sigmoid():
    state = ClusterState([share_node("a"), share_node("b")])
    workload = TargetWorkload((Shape(1000, 500, 1),), (1.0,))
    s = Scheduler(state, "fgd", workload=workload)
    placed(s, pod("x", fraction(300), node_name="b"))  # b: 700 + 1000 free
    # A 600 task leaves a 400 sliver on an idle GPU (-400 -> floor(100 sigmoid(-0.4)) = 40),
    # and 100 on b's 700 GPU (-100 -> 47). A node scores its best GPU.
    assert scores(s, pod("p", fraction(600))) == [40, 47]
    decision = placed(s, pod("p", fraction(600)))
    assert (decision.node, decision.gpus) == ("b", (0,))


def test_fgd_without_a_workload_learns_one_from_the_pods_it_sees():
    state = ClusterState([share_node("a")])
    s = Scheduler(state, profile("fgd"))
    assert placed(s, pod("p", fraction(500))).node == "a"
    assert placed(s, pod("q", whole(1))).gpus == (1,)


def test_fgd_cache_matches_a_fresh_evaluation_after_many_placements():
    nodes = [share_node(f"n{i}", gpus=4, cpu_milli=32_000) for i in range(6)]
    workload = TargetWorkload(
        (Shape(4000, 500, 1), Shape(8000, 1000, 1), Shape(2000, 0, 0)), (0.5, 0.3, 0.2)
    )
    state = ClusterState(nodes)
    s = Scheduler(state, "fgd", workload=workload)
    rng = np.random.default_rng(3)
    for i in range(30):
        kind = rng.integers(3)
        gpu = [fraction(int(rng.choice([200, 500, 700]))), whole(1), None][kind]
        s.place(pod(f"p{i}", gpu, cpu_milli=2000))
        probe = pod("probe", fraction(300), cpu_milli=2000)
        fresh = Scheduler(state, "fgd", workload=workload)
        assert scores(s, probe) == scores(fresh, probe)


def test_pods_by_node_tracks_reserve_release_and_rebinding():
    state = ClusterState([share_node("a"), share_node("b")])
    s = Scheduler(state, "most-allocated")
    index = PodsByNode()
    placed(s, pod("x", fraction(500), node_name="a"))
    placed(s, pod("y", whole(1), node_name="b"))
    first = index.refresh(state)
    assert first.rebuilt and [b.pod for b in first.added] == ["default/x", "default/y"]
    assert [b.pod for b in index.on(0)] == ["default/x"]
    state.release("default/x")
    placed(s, pod("x", fraction(500), node_name="b"))
    changes = index.refresh(state)
    assert sorted(changes.nodes.tolist()) == [0, 1] and not changes.rebuilt
    assert [(b.pod, b.node) for b in changes.removed] == [("default/x", 0)]
    assert [(b.pod, b.node) for b in changes.added] == [("default/x", 1)]
    assert index.on(0) == [] and [b.pod for b in index.on(1)] == ["default/y", "default/x"]
    assert index.refresh(state).nodes.size == 0
    assert [binding_kind(b) for b in index.on(1)] == ["1-gpu", "share"]
