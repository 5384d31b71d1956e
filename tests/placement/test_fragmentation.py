"""FGD's fragmentation measure: per-shape rules, the target workload, the per-node meter."""

from __future__ import annotations

import numpy as np
import pytest

from gpuplane.cluster import ClusterState
from gpuplane.objects import NodeAffinity, NodeSelectorRequirement, NodeSelectorTerm
from gpuplane.objects.scheduling import SelectorOperator
from gpuplane.placement import Scheduler
from gpuplane.placement.fragmentation import (
    FragmentationMeter,
    Shape,
    TargetWorkload,
    frag_per_shape,
    gpu_tallies,
    shape_of,
    target_workload,
)

from helpers import FRACTIONAL, fraction, gpu_node, pod, whole

SHARE_300 = Shape(2_000, 300, 1)
WHOLE_CPU_HEAVY = Shape(20_000, 1000, 1)
TWO_WHOLE = Shape(1_000, 1000, 2)
CPU_ONLY = Shape(1_000, 0, 0)
ONE_WHOLE = Shape(1_000, 1000, 1)


def test_each_rule_of_the_per_shape_measure_by_hand():
    # One node: GPUs with 1000, 500, 200 and 0 milli free (T = 1700), 10 cores free.
    w = TargetWorkload(
        (SHARE_300, WHOLE_CPU_HEAVY, TWO_WHOLE, CPU_ONLY, ONE_WHOLE), (0.4, 0.1, 0.1, 0.2, 0.2)
    )
    free = np.array([[1000, 500, 200, 0]])
    count_ge, sum_ge = gpu_tallies(free, w.milli)
    per_shape = frag_per_shape(
        w, count_ge, sum_ge, free.sum(axis=1), np.array([10_000]), np.ones((1, 5), bool)
    )
    # fits: only the 200 and 0 slivers | too little CPU | one whole GPU, needs two |
    # no GPU share | fits: every partly used GPU
    assert per_shape.tolist() == [[200, 1700, 1700, 1700, 700]]
    assert float(per_shape[0] @ w.p) == pytest.approx(0.4 * 200 + 0.4 * 1700 + 0.2 * 700)


def test_a_shape_that_may_not_run_on_the_node_finds_all_free_gpu_fragmented():
    w = TargetWorkload((SHARE_300,), (1.0,))
    free = np.array([[1000, 1000]])
    count_ge, sum_ge = gpu_tallies(free, w.milli)
    args = (w, count_ge, sum_ge, free.sum(axis=1), np.array([64_000]))
    assert frag_per_shape(*args, np.array([[True]])).tolist() == [[0]]
    assert frag_per_shape(*args, np.array([[False]])).tolist() == [[2000]]


def test_target_workload_keeps_the_most_popular_shapes_up_to_95_percent():
    shapes = [ONE_WHOLE] * 50 + [SHARE_300] * 30 + [CPU_ONLY] * 15 + [TWO_WHOLE] * 5
    w = target_workload(shapes)
    assert w.shapes == (ONE_WHOLE, SHARE_300, CPU_ONLY)  # 95 of 100 tasks covered
    assert w.weights == pytest.approx((50 / 95, 30 / 95, 15 / 95))
    assert target_workload(shapes, coverage=0.5).shapes == (ONE_WHOLE,)


def test_equally_popular_shapes_rank_the_larger_first():
    small, big = Shape(1_000, 500, 1), Shape(8_000, 500, 1)
    assert target_workload([small, big, small, big]).shapes == (big, small)


def test_shape_of_a_pod_reads_share_count_and_constraint():
    product = NodeSelectorRequirement("nvidia.com/gpu.product", SelectorOperator.IN, ("Tesla-T4",))
    affinity = NodeAffinity(required=(NodeSelectorTerm(match_expressions=(product,)),))
    assert shape_of(pod("a", whole(2), cpu_milli=4000)) == Shape(4000, 1000, 2)
    s = shape_of(pod("b", fraction(250), cpu_milli=1000, affinity=affinity))
    assert (s.gpu_milli, s.gpu_count, s.constrained) == (250, 1, True)
    t4 = gpu_node("t4", gpus=1, model="Tesla-T4")
    a100 = gpu_node("a100", gpus=1)
    assert TargetWorkload((s,), (1.0,)).allowed([t4, a100]).tolist() == [[True, False]]


def test_meter_follows_placements_and_recomputes_only_changed_nodes():
    nodes = [gpu_node(f"n{i}", gpus=2, cpu_milli=8_000, sharing=FRACTIONAL) for i in range(3)]
    state = ClusterState(nodes)
    w = TargetWorkload((ONE_WHOLE, CPU_ONLY), (0.5, 0.5))
    meter = FragmentationMeter(w, state)
    # Fresh: whole GPUs fit everywhere (0), CPU-only tasks see all 2000 milli: 1000 per node.
    assert meter.amount() == pytest.approx(3 * 1000)
    assert meter.ratio() == pytest.approx(0.5)
    Scheduler(state, "most-allocated").place(pod("p", fraction(600), cpu_milli=1000))
    assert meter.refresh().tolist() == [0]  # only the node that changed
    # n0 now has 400 + 1000 free: ONE_WHOLE fits, 400 is a sliver; CPU_ONLY sees 1400.
    assert meter.per_node.tolist() == pytest.approx([0.5 * 400 + 0.5 * 1400, 1000, 1000])
    assert meter.refresh().size == 0
