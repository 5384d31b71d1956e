"""TaintToleration's score: fewer untolerated PreferNoSchedule taints is better."""

from __future__ import annotations

import numpy as np

from gpuplane.cluster.state import IntArray
from gpuplane.objects.scheduling import TaintEffect
from gpuplane.placement.framework import Cycle
from gpuplane.placement.scores.normalize import default_normalize


class TaintTolerationScore:
    """Counts each node's PreferNoSchedule taints the pod does not tolerate; normalized in
    reverse, so the nodes with the fewest get 100 and those with the most get 0."""

    name = "TaintToleration"

    def score(self, cycle: Cycle) -> IntArray:
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
        return default_normalize(cycle, counts, reverse=True)
