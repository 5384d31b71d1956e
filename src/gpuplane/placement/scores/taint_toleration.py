"""TaintToleration's score: fewer untolerated PreferNoSchedule taints is better."""

from __future__ import annotations

import numpy as np

from gpuplane.cluster.state import IntArray
from gpuplane.objects.scheduling import TaintEffect
from gpuplane.placement.framework import MAX_NODE_SCORE, Cycle
from gpuplane.placement.scores.normalize import default_normalize


class TaintTolerationScore:
    """Counts each node's PreferNoSchedule taints the pod does not tolerate; normalized in
    reverse, so the nodes with the fewest get 100 and those with the most get 0."""

    name = "TaintToleration"

    def score(self, cycle: Cycle) -> IntArray:
        return default_normalize(cycle, self._counts(cycle), reverse=True)

    def uniform(self, cycle: Cycle) -> int | None:
        """Every node with the same count scores the same: 100 for none, else 0."""
        counts = self._counts(cycle)
        key = ("prefer-no-schedule-range", id(counts))
        span: tuple[int, int] | None = cycle.cache.get(cycle.state, key)
        if span is None:
            span = (int(counts.min()), int(counts.max())) if len(counts) else (0, 0)
            cycle.cache.put(key, span)
        low, high = span
        if low != high:
            return None
        return MAX_NODE_SCORE if high == 0 else 0

    @staticmethod
    def _counts(cycle: Cycle) -> IntArray:
        # Only tolerations whose effect is PreferNoSchedule or empty count, as upstream.
        tolerations = tuple(
            t
            for t in cycle.pod.tolerations
            if t.effect in (None, TaintEffect.PREFER_NO_SCHEDULE)
        )
        key = ("prefer-no-schedule", tolerations)
        counts: IntArray | None = cycle.cache.get(cycle.state, key)
        if counts is None:
            counts = np.array(
                [
                    sum(
                        1
                        for taint in node.taints
                        if taint.effect is TaintEffect.PREFER_NO_SCHEDULE
                        and not any(t.tolerates(taint) for t in tolerations)
                    )
                    for node in cycle.state.nodes
                ],
                dtype=np.int64,
            )
            cycle.cache.put(key, counts)
        return counts
