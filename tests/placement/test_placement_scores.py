"""Scores (kube-scheduler's formulas), tie-breaking and device assignment."""

from __future__ import annotations

from gpuplane.catalog.resources import GPU
from gpuplane.cluster import ClusterState
from gpuplane.placement import Placement, Scheduler
from gpuplane.placement.profiles import Profile, default_filters
from gpuplane.placement.scores import MostAllocatedScore

from helpers import FRACTIONAL, cpu_node, fraction, gpu_node, pod, whole


def place_all(state, profile, pods):
    sched = Scheduler(state, profile)
    out = []
    for p in pods:
        d = sched.place(p)
        assert isinstance(d, Placement), d
        out.append(d)
    return out


def test_least_allocated_spreads_and_most_allocated_packs():
    nodes = [gpu_node(f"n{i}") for i in range(3)]
    pods = [pod(f"p{i}", whole(1), cpu_milli=10_000) for i in range(3)]
    spread = place_all(ClusterState(nodes), "least-allocated", pods)
    assert [d.node for d in spread] == ["n0", "n1", "n2"]
    packed = place_all(ClusterState(nodes), "most-allocated", pods)
    assert [d.node for d in packed] == ["n0", "n0", "n0"]


def test_least_allocated_score_is_kubes_integer_formula():
    # cpu: (96000 - 30000) * 100 // 96000 = 68 ; memory: (1048576 - 100000) * 100 // 1048576 = 90
    # Beside it, with kube's default weights: TaintToleration 3 x 100 (no taints),
    # NodeAffinity 2 x 0 (no preferences), BalancedAllocation 1 x int(100 * (1 - |0.3125 -
    # 0.0954| / 2)) = 89.
    state = ClusterState([gpu_node("a")])
    d = Scheduler(state, "least-allocated").schedule(
        pod("p", whole(1), cpu_milli=30_000, memory_mib=100_000)
    )
    assert isinstance(d, Placement) and d.score == 3 * 100 + (68 + 90) // 2 + 89


def test_most_allocated_weighs_gpu_only_for_gpu_pods():
    # Node a is fuller in CPU, node b in GPU. A GPU pod prefers b (GPU weight 3); a CPU pod a.
    # The MostAllocated plugin alone: in the profile BalancedAllocation may outvote it.
    state = ClusterState([gpu_node("a"), gpu_node("b")])
    only = Profile(
        "most-only", default_filters(), [(MostAllocatedScore({"cpu": 1, "memory": 1, GPU: 3}), 1)]
    )
    sched = Scheduler(state, only)
    sched.place(pod("cpu-hog", cpu_milli=48_000, node_name="a"))
    sched.place(pod("gpu-user", whole(6), cpu_milli=1000, node_name="b"))
    gpu_pod = sched.schedule(pod("g", whole(1)))
    cpu_pod = sched.schedule(pod("c"))
    assert isinstance(gpu_pod, Placement) and gpu_pod.node == "b"
    assert isinstance(cpu_pod, Placement) and cpu_pod.node == "a"


def test_ties_go_to_the_first_node_in_cluster_order():
    nodes = [gpu_node(n) for n in ("z", "y", "x")]
    d = Scheduler(ClusterState(nodes), "least-allocated").schedule(pod("p", whole(1)))
    assert isinstance(d, Placement) and d.node == "z"


def test_whole_gpus_take_lowest_free_indices():
    state = ClusterState([gpu_node("a", gpus=4)])
    first, second = place_all(state, "most-allocated", [pod("p", whole(2)), pod("q", whole(2))])
    assert first.gpus == (0, 1) and second.gpus == (2, 3)
    assert first.gpu_milli == (1000, 1000) and first.gpu_memory_mib == (81920, 81920)


def test_fraction_packs_onto_the_fullest_gpu_that_fits():
    state = ClusterState([gpu_node("a", gpus=2, sharing=FRACTIONAL)])
    a, b, c = place_all(
        state,
        "most-allocated",
        [pod("a", fraction(300)), pod("b", fraction(500)), pod("c", fraction(600))],
    )
    assert a.gpus == (0,) and b.gpus == (0,)  # 300 + 500 on GPU 0
    assert c.gpus == (1,)  # 600 does not fit in GPU 0's remaining 200
    # Memory follows compute when not named: 30% of 81920 MiB, rounded up.
    assert a.gpu_memory_mib == (24576,)


def test_fraction_with_named_memory_and_memory_limits():
    state = ClusterState([gpu_node("a", gpus=1, sharing=FRACTIONAL)])
    sched = Scheduler(state)
    first = sched.place(pod("a", fraction(100, memory_mib=80_000)))
    assert isinstance(first, Placement) and first.gpu_memory_mib == (80_000,)
    second = sched.schedule(pod("b", fraction(100, memory_mib=4_000)))
    assert not isinstance(second, Placement)
    assert second.reasons == {"Insufficient GPU memory": 1}


def test_whole_gpu_never_lands_on_a_shared_gpu():
    state = ClusterState([gpu_node("a", gpus=1, sharing=FRACTIONAL)])
    sched = Scheduler(state)
    assert isinstance(sched.place(pod("f", fraction(100))), Placement)
    d = sched.schedule(pod("w", whole(1)))
    assert not isinstance(d, Placement) and d.reasons == {"Insufficient nvidia.com/gpu": 1}


def test_unhealthy_gpus_take_no_new_work():
    state = ClusterState([gpu_node("a", gpus=2)])
    state.set_gpu_health(0, 0, healthy=False)
    (d,) = place_all(state, "most-allocated", [pod("p", whole(1))])
    assert d.gpus == (1,)
    assert not isinstance(Scheduler(state).schedule(pod("q", whole(1))), Placement)


def test_cpu_pods_on_cpu_nodes():
    state = ClusterState([cpu_node("c"), gpu_node("g")])
    (d,) = place_all(state, "least-allocated", [pod("web", cpu_milli=100)])
    assert d.gpus == ()
