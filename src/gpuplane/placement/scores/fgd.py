"""FGD: place each task where it increases the cluster's GPU fragmentation the least.

Fragmentation Gradient Descent (Weng et al., ATC '23). Fragmentation is measured against a
target workload M (see `placement.fragmentation`): F_n(M) is the free GPU of node n that a task
drawn from M could not use. For each feasible node the task is placed hypothetically and the
change F_n(M) before minus after is scored; the task goes where fragmentation grows least.

* A share of one GPU is tried on every GPU of the node that can take it, and the best GPU is
  kept; that GPU is also the one the pod gets (this plugin is the profile's device plugin).
* Whole GPUs take the lowest-indexed idle GPUs, and a share of several GPUs the fullest ones
  that fit, as the default assignment does; CPU-only tasks change only the node's free CPU.
* The score is the reference implementation's: floor(100 * sigmoid((before - after) / 1000)),
  an integer in 0..100. Nearby changes therefore tie, the scheduler breaks node ties, and on a
  node the lowest-indexed GPU among those with the best integer score wins.
* M is the scheduler's target workload when it has one (the replay gives the trace's); without
  one, FGD estimates M from the pods it has scored so far, this one included.

Speed: the change for a (request, node) pair depends only on that node's state, so it is kept
per request with the node's version and recomputed only where the version moved; a placement
changes one node. The node's own tallies come from a FragmentationMeter, also per version.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from gpuplane.cluster.state import BoolArray, ClusterState, IntArray
from gpuplane.objects.gpu_request import GpuKind
from gpuplane.placement.assign import Assignment
from gpuplane.placement.fragmentation import (
    FloatArray,
    FragmentationMeter,
    Shape,
    TargetWorkload,
    frag_per_shape,
    free_gpu,
    gpu_tallies,
    shape_of,
    target_workload,
)
from gpuplane.placement.framework import MAX_NODE_SCORE, Cycle

_LAST = 10_000  # sorts after every real free share


@dataclass
class _Scores:
    """Per node: the score for one request, its best GPU (-1: none), the version they hold for."""

    version: IntArray
    score: IntArray
    gpu: IntArray


class FgdScore:
    name = "FGD"

    def __init__(self) -> None:
        self._meter: FragmentationMeter | None = None
        self._generation = -1
        self._scores: dict[tuple[Any, ...], _Scores] = {}
        self._seen: dict[str, Shape] = {}
        self._learned: TargetWorkload | None = None

    def score(self, cycle: Cycle) -> IntArray:
        assert cycle.feasible is not None, "score runs after the filters"
        state = cycle.state
        meter = self._meter_for(self._workload(cycle), state)
        key = (cycle.pod.cpu_milli, cycle.pod.gpu)
        scores = self._scores.get(key)
        if scores is None:
            n = len(state)
            minus = np.full(n, -1, dtype=np.int64)
            scores = self._scores[key] = _Scores(minus.copy(), minus.copy(), minus.copy())
        stale = np.flatnonzero(cycle.feasible & (scores.version != state.node_version))
        if stale.size:
            meter.refresh()
            score, gpu = self._evaluate(cycle, meter, stale)
            scores.score[stale] = score
            scores.gpu[stale] = gpu
            scores.version[stale] = state.node_version[stale]
        cycle.data[self.name] = scores
        return scores.score.copy()

    def assign(self, cycle: Cycle, node: int) -> Assignment | None:
        req = cycle.pod.gpu
        scores = cycle.data.get(self.name)
        if not (cycle.gpu.fraction and req.count == 1) or not isinstance(scores, _Scores):
            return None
        gpu = int(scores.gpu[node])
        if gpu < 0:
            return None
        memory = int(cycle.gpu.need_memory()[node, gpu])
        return Assignment(gpus=(gpu,), milli=(req.milli,), memory_mib=(memory,))

    # -- the workload and the per-node tallies ------------------------------------------------

    def _workload(self, cycle: Cycle) -> TargetWorkload:
        if cycle.workload is not None:
            return cycle.workload
        pod = cycle.pod
        if self._learned is None or pod.key not in self._seen:
            self._seen[pod.key] = shape_of(pod)
            self._learned = target_workload(self._seen.values())
        return self._learned

    def _meter_for(self, workload: TargetWorkload, state: ClusterState) -> FragmentationMeter:
        meter = self._meter
        if (
            meter is None
            or meter.workload is not workload
            or meter.state is not state
            or self._generation != state.generation
        ):
            meter = self._meter = FragmentationMeter(workload, state)
            self._generation = state.generation
            self._scores = {}
        return meter

    # -- evaluating a placement --------------------------------------------------------------

    def _evaluate(
        self, cycle: Cycle, meter: FragmentationMeter, nodes: IntArray
    ) -> tuple[IntArray, IntArray]:
        """Score and best GPU of each node in `nodes` for the cycle's pod."""
        w, state, req = meter.workload, cycle.state, cycle.pod.gpu
        before = meter.per_shape[nodes]
        allowed = meter.allowed[nodes]
        cpu_after = state.cpu_free[nodes] - cycle.pod.cpu_milli
        free = free_gpu(state, nodes)
        if cycle.gpu.fraction and req.count == 1:
            # Each candidate GPU changes alone: update the node's tallies by that one GPU.
            share = req.milli
            after_free = free - share
            was = free[:, :, None] >= w.milli
            now = after_free[:, :, None] >= w.milli
            count_ge = meter.count_ge[nodes][:, None, :] - was + now
            sum_ge = (
                meter.sum_ge[nodes][:, None, :]
                - free[:, :, None] * was
                + after_free[:, :, None] * now
            )
            total = np.broadcast_to((meter.total[nodes] - share)[:, None], free.shape)
            after = frag_per_shape(
                w,
                count_ge,
                sum_ge,
                total,
                np.broadcast_to(cpu_after[:, None], free.shape),
                allowed[:, None, :],
            )
            per_gpu = _sigmoid_score(before[:, None, :] - after, w.p)
            per_gpu = np.where(cycle.gpu.usable()[nodes], per_gpu, -1)
            best = per_gpu.argmax(axis=1)
            return per_gpu[np.arange(nodes.size), best], best.astype(np.int64)
        after_free = _after_taking(cycle, nodes, free)
        count_ge, sum_ge = gpu_tallies(after_free, w.milli)
        after = frag_per_shape(w, count_ge, sum_ge, after_free.sum(axis=1), cpu_after, allowed)
        return _sigmoid_score(before - after, w.p), np.full(nodes.size, -1, dtype=np.int64)


def _after_taking(cycle: Cycle, nodes: IntArray, free: IntArray) -> IntArray:
    """Free GPU shares of `nodes` after the pod takes what the default assignment gives it."""
    state, req = cycle.state, cycle.pod.gpu
    if not req.wants_gpu or req.kind not in (GpuKind.WHOLE, GpuKind.FRACTION):
        return free  # no GPU share taken (CPU-only; MIG and replicas are outside the model)
    if req.kind is GpuKind.WHOLE:
        candidates: BoolArray = (
            state.gpu_healthy[nodes]
            & (state.gpu_free_milli[nodes] == 1000)
            & (state.gpu_free_mem[nodes] == state.gpu_mem_total[nodes])
        )
        share = 1000
    else:
        candidates, share = cycle.gpu.usable()[nodes], req.milli
    # The fullest candidates first, ties by index (whole GPUs: the lowest idle indices).
    order = np.argsort(np.where(candidates, free, _LAST), axis=1, kind="stable")[:, : req.count]
    taken = np.zeros(free.shape, dtype=np.bool_)
    np.put_along_axis(taken, order, True, axis=1)
    out: IntArray = free - share * taken
    return out


def _sigmoid_score(change: IntArray, p: FloatArray) -> IntArray:
    """floor(100 * sigmoid(weighted change / 1000)): the reference's integer score."""
    delta = change @ p
    value = (1.0 / (1.0 + np.exp(-delta / 1000.0))) * MAX_NODE_SCORE
    out: IntArray = value.astype(np.int64)
    return out
