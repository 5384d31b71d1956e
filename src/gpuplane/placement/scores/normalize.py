"""kube-scheduler's DefaultNormalizeScore, over the nodes that passed the filters."""

from __future__ import annotations

import numpy as np

from gpuplane.cluster.state import IntArray
from gpuplane.placement.framework import MAX_NODE_SCORE, Cycle


def default_normalize(cycle: Cycle, raw: IntArray, *, reverse: bool) -> IntArray:
    """Scale so the highest feasible score becomes 100 (integer division), then flip if asked.

    When every feasible score is 0, reverse gives all 100 and forward leaves all 0, as upstream.
    Only feasible nodes take part: kube-scheduler scores the nodes the filters kept.
    """
    feasible = cycle.feasible if cycle.feasible is not None else np.ones(len(raw), np.bool_)
    top = int(raw[feasible].max()) if feasible.any() else 0
    if top == 0:
        return np.full(len(raw), MAX_NODE_SCORE if reverse else 0, dtype=np.int64)
    scaled: IntArray = (MAX_NODE_SCORE * raw) // top
    return MAX_NODE_SCORE - scaled if reverse else scaled
