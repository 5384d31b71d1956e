"""GpuClustering: keep tasks of one kind together, so that different kinds do not fragment a node.

The FGD paper's GpuClustering baseline. A task's kind is "share" for a share of one GPU, or
"k-gpu" for k whole GPUs. In tiers (higher is better):

* 75..100: every GPU task on the node is of the task's kind,
* 50..75: the node runs the task's kind among others,
* 25..50: the node runs no GPU task,
* 0..25: the node runs only other kinds;

within a tier, 25 * (8 GPUs - free GPU share) // 8 GPUs prefers the fuller node. Tasks that ask
for no GPU score 0 everywhere. GPUs are assigned by the default rule.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from gpuplane.cluster.binding import Binding
from gpuplane.cluster.state import BoolArray, IntArray
from gpuplane.placement.fragmentation import gpu_share
from gpuplane.placement.framework import Cycle
from gpuplane.placement.pod_index import PodsByNode
from gpuplane.placement.scores.dot_product import MAX_GPU_MILLI

SHARE = "share"
TIER = 25


def kind_of(milli: int, count: int) -> str | None:
    """A task's kind from its share per GPU and GPU count; None when it takes no GPU share."""
    if milli <= 0 or count <= 0:
        return None
    return f"{count}-gpu" if milli >= 1000 else SHARE


def binding_kind(binding: Binding) -> str | None:
    if not binding.gpus:
        return None
    whole = all(m >= 1000 for m in binding.gpu_milli)
    return kind_of(1000 if whole else min(binding.gpu_milli), len(binding.gpus))


class GpuClusteringScore:
    name = "GpuClustering"

    def __init__(self) -> None:
        self._pods = PodsByNode()
        #: Per node: how many of its GPU tasks are of each kind.
        self._kinds: list[Counter[str]] = []
        # Per node: how many kinds it runs, and per kind whether it runs it (numpy, for speed).
        self._distinct: IntArray = np.zeros(0, dtype=np.int64)
        self._runs: dict[str, BoolArray] = {}

    def score(self, cycle: Cycle) -> IntArray:
        state = cycle.state
        kind = kind_of(*gpu_share(cycle.pod.gpu))
        if kind is None:
            return np.zeros(len(state), dtype=np.int64)
        self._catch_up(cycle)
        same = self._runs_kind(kind)
        used = MAX_GPU_MILLI - state.gpu_free_node
        # Integer division truncating toward zero, as the reference computes it.
        fullness = np.sign(used) * (np.abs(TIER * used) // MAX_GPU_MILLI)
        distinct = self._distinct
        tier = np.where(
            same, np.where(distinct == 1, 3 * TIER, 2 * TIER), np.where(distinct == 0, TIER, 0)
        )
        out: IntArray = fullness + tier
        return out

    def _catch_up(self, cycle: Cycle) -> None:
        changes = self._pods.refresh(cycle.state)
        if changes.rebuilt:
            n = len(cycle.state)
            self._kinds = [Counter() for _ in range(n)]
            self._distinct = np.zeros(n, dtype=np.int64)
            self._runs = {}
        for binding, step in [(b, -1) for b in changes.removed] + [(b, 1) for b in changes.added]:
            kind = binding_kind(binding)
            if kind is not None:
                counter = self._kinds[binding.node]
                counter[kind] += step
                if not counter[kind]:
                    del counter[kind]
        for i in {b.node for b in changes.removed} | {b.node for b in changes.added}:
            counter = self._kinds[i]
            self._distinct[i] = len(counter)
            for kind in counter:
                self._runs_kind(kind)
            for kind, runs in self._runs.items():
                runs[i] = kind in counter

    def _runs_kind(self, kind: str) -> BoolArray:
        runs = self._runs.get(kind)
        if runs is None:
            runs = np.array([kind in c for c in self._kinds], dtype=np.bool_)
            self._runs[kind] = runs
        return runs
