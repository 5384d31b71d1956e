"""The openb experiment: arrival order and tuning, a replayed slice checked by hand, binning."""

from __future__ import annotations

import numpy as np
import pytest

from gpuplane.objects.pod import Pod
from gpuplane.sim.openb.reader import GPU_NODE_FILE, openb_nodes, pod_list_file, read_openb_pods
from gpuplane.sim.openb.replay import ReplayResult, arrivals, gpu_request_milli, replay
from gpuplane.sim.openb.results import (
    ALLOC_FILE,
    FRAG_FILE,
    FRAG_RATIO_FILE,
    discrete,
    read_published,
    summarize,
    write_results,
)

from helpers import OPENB_DATA, fraction, needs_openb, pod, whole

DATA = OPENB_DATA


def test_arrivals_shuffle_then_append_resampled_tasks_up_to_the_target():
    pods = [pod(f"p{i}", whole(1)) for i in range(4)] + [pod("c", None), pod("s", fraction(500))]
    for seed in range(10):
        tasks = arrivals(pods, capacity_milli=4000, rng=np.random.default_rng(seed), tune=1.3)
        assert sorted(p.name for p in tasks[:6]) == sorted(p.name for p in pods)
        extra = tasks[6:]
        assert [p.name.split("-tuned-")[1] for p in extra] == [str(i) for i in range(len(extra))]
        # 4500 arrive first; resampling stops at the first draw that would pass 5200.
        assert 4500 <= sum(gpu_request_milli(p) for p in tasks) <= 5200
    again = arrivals(pods, capacity_milli=4000, rng=np.random.default_rng(9), tune=1.3)
    assert [p.name for p in again] == [p.name for p in tasks]


def test_arrivals_check_the_share_of_one_gpu_like_the_artifact():
    # 9000 of a 10400 target arrive. The first draw passes the check (9000 + 1000) whether it
    # is the 1-GPU task (then the next draw ends it at 10000) or the 8-GPU one, which then
    # adds all its 8000 milli: 17000, as the artifact's tuning does.
    pods = [pod("big", whole(8)), pod("one", whole(1))]
    totals = {
        sum(gpu_request_milli(p) for p in arrivals(pods, 8000, np.random.default_rng(s), 1.3))
        for s in range(20)
    }
    assert totals == {10_000, 17_000}


def test_arrivals_tune_down_a_trace_above_the_target():
    pods = [pod(f"p{i}", whole(1)) for i in range(10)]
    tasks = arrivals(pods, capacity_milli=4000, rng=np.random.default_rng(1), tune=1.3)
    assert len(tasks) == 5 and len({p.name for p in tasks}) == 5  # 5000 <= 5200 < 6000


def test_arrivals_without_tuning_keep_every_task_once():
    pods = [pod(f"p{i}", whole(1)) for i in range(5)]
    tasks = arrivals(pods, 1000, np.random.default_rng(0), tune=0)
    assert sorted(p.name for p in tasks) == [p.name for p in pods]


@needs_openb
@pytest.mark.parametrize("policy", ["best-fit", "fgd", "random", "gpu-packing"])
def test_replayed_slice_matches_hand_computed_allocation_and_fragmentation(policy):
    """Node openb-node-0000 (64 cores, 2 P100) and three tasks of the default trace.

    openb-pod-0000: 12 cores, 1 whole GPU; openb-pod-0001: 6 cores, 460 milli of one GPU;
    openb-pod-0005: 20 cores, no GPU. M is these three shapes, 1/3 each. Whatever the order,
    every task fits, so after each arrival the free GPUs are known, and F(M) by hand:

    * whole only: free {0, 1000}: whole fits (0), share fits (0), CPU-only sees 1000 -> 333.33
    * share only: free {540, 1000}: whole fits but 540 is a sliver, share fits (0), CPU-only
      1540 -> (540 + 0 + 1540) / 3 = 693.33
    * CPU-only only: free {1000, 1000}: 0, 0, 2000 -> 666.67
    * whole + share: free {0, 540}: no whole GPU (540), share fits (0), 540 -> 360
    * whole + CPU-only -> 333.33; share + CPU-only -> 693.33; all three -> 360.
    """
    node = openb_nodes(DATA / GPU_NODE_FILE)[:1]
    by_name = {p.name: p for p in read_openb_pods(pod_list_file(DATA, "default")).pods}
    tasks = [by_name[n] for n in ("openb-pod-0000", "openb-pod-0001", "openb-pod-0005")]
    whole_gpu, share, cpu = (t.name for t in tasks)
    expected = {  # arrived set -> (allocated milli, F(M), F(M) / free GPU in %)
        frozenset({whole_gpu}): (1000, 333.33, 33.33),
        frozenset({share}): (460, 693.33, 45.02),
        frozenset({cpu}): (0, 666.67, 33.33),
        frozenset({whole_gpu, share}): (1460, 360.0, 66.67),
        frozenset({whole_gpu, cpu}): (1000, 333.33, 33.33),
        frozenset({share, cpu}): (460, 693.33, 45.02),
        frozenset({whole_gpu, share, cpu}): (1460, 360.0, 66.67),
    }
    for seed in (42, 43, 44):
        result = replay(node, tasks, policy, seed, tune=0)
        order = [t.name for t in arrivals(tasks, 2000, np.random.default_rng(seed), tune=0)]
        assert result.failed == 0 and result.total_gpus == 2
        for k in range(3):
            used, frag, ratio = expected[frozenset(order[: k + 1])]
            assert result.used_milli[k] == used
            assert result.arrived_milli[k] == used  # nothing failed
            assert result.frag_milli[k] == pytest.approx(frag)
            assert result.frag_ratio[k] == pytest.approx(ratio)


def _result(arrived: list[int], used: list[int], frag: list[float]) -> ReplayResult:
    return ReplayResult(
        policy="fgd",
        seed=42,
        tune=1.3,
        total_gpus=10,
        arrived_milli=np.array(arrived),
        used_milli=np.array(used),
        frag_milli=np.array(frag, dtype=float),
        frag_ratio=np.array([50.0] * len(arrived)),
        failed=0,
    )


def test_binning_follows_the_published_merge_rules():
    # 10 GPUs: 100 milli = 1%. Arrivals at 1%, 1.5% (rounds to 2, half to even), 2.4%, 4%.
    r = _result([100, 150, 240, 400], [100, 150, 200, 333], [1000.0, 2000.0, 3000.0, 4000.0])
    d = discrete("default", r)
    assert d.alloc[1] == 1.0  # only the 1% arrival
    assert d.alloc[2] == round((1.5 + 2.0) / 2, 2)  # 1.5% and 2.4% both round to 2
    assert d.alloc[3] == round((1.5 + 2.0 + 3.33) / 3, 2)  # none at 3: neighbours 2..4
    assert d.alloc[0] == 1.0  # none at 0: neighbour 1
    assert d.alloc[4] == 3.33 and d.alloc[5] == 3.33 and d.alloc[6] is None
    assert d.frag[1] == round(100 * 1000 / 1000 / 10, 2)  # 10% of the cluster's GPUs
    assert d.frag_ratio[2] == 50.0


def test_results_files_round_trip_in_the_published_layout(tmp_path):
    d = discrete("default", _result([100, 400], [100, 400], [0.0, 10.0]))
    paths = write_results([d], tmp_path)
    assert [p.name for p in paths] == [ALLOC_FILE, FRAG_FILE, FRAG_RATIO_FILE]
    head = paths[0].read_text().splitlines()[0].split(",")
    assert head[:5] == ["workload", "sc_policy", "tune", "seed", "total_gpus"]
    assert head[5:] == [str(k) for k in range(131)]
    back = read_published(paths[0])
    assert back.runs("default", "fgd")[42] == d.alloc
    assert back.at("default", "fgd", 4) == [4.0]


@needs_openb
def test_published_results_hold_the_papers_headline_figures():
    published = read_published(DATA / "fgd_expected_results" / ALLOC_FILE)
    assert len(published.rows) == 6 * 17
    fgd = summarize(published.at("default", "fgd", 100))
    best_fit = summarize(published.at("default", "best-fit", 100))
    assert fgd is not None and best_fit is not None and fgd.n == 10
    assert round(fgd.mean, 2) == 95.23 and round(best_fit.mean, 2) == 92.86


def test_replay_is_pure_given_the_seed():
    from helpers import FRACTIONAL, gpu_node

    nodes = [gpu_node(f"n{i}", gpus=4, cpu_milli=32_000, sharing=FRACTIONAL) for i in range(3)]
    pods: list[Pod] = [pod(f"s{i}", fraction(300 + 100 * (i % 5))) for i in range(12)]
    pods += [pod(f"w{i}", whole(1 + i % 2)) for i in range(6)]
    a = replay(nodes, pods, "fgd", 7)
    b = replay(nodes, pods, "fgd", 7)
    assert a.used_milli.tolist() == b.used_milli.tolist()
    assert a.frag_milli.tolist() == b.frag_milli.tolist()
    assert a.arrived_milli[-1] <= 1.3 * 12_000 + 1000
