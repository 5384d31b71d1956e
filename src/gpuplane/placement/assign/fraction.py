"""Picking GPUs for a fraction (HAMi- or KAI-style): binpack or spread across a node's GPUs.

binpack sends a fraction to the fullest GPU that fits (least free compute, then least free
memory), keeping other GPUs whole for whole-GPU work; spread sends it to the emptiest, which
lowers interference between tenants. Ties go to the lower GPU index.
"""

from __future__ import annotations

import numpy as np

from gpuplane.cluster.state import BoolArray, ClusterState, IntArray
from gpuplane.placement.assign.assignment import Assignment
from gpuplane.sharing import FractionPolicy


def pick_fraction(
    state: ClusterState,
    node: int,
    usable: BoolArray,
    need_memory: IntArray,
    milli: int,
    count: int,
) -> Assignment:
    """`count` distinct GPUs of `node` among `usable` (one row), per the node's policy."""
    candidates = np.flatnonzero(usable)
    free_milli = state.gpu_free_milli[node, candidates]
    free_mem = state.gpu_free_mem[node, candidates]
    policy = state.nodes[node].sharing.default.fraction_policy
    if policy is FractionPolicy.SPREAD:
        free_milli, free_mem = -free_milli, -free_mem
    # lexsort sorts by the last key first: compute, then memory, then index.
    order = np.lexsort((candidates, free_mem, free_milli))
    chosen = candidates[order][:count]
    return Assignment(
        gpus=tuple(int(g) for g in chosen),
        milli=(milli,) * len(chosen),
        memory_mib=tuple(int(need_memory[g]) for g in chosen),
    )
