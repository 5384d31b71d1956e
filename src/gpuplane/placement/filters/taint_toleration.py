"""TaintToleration: a node's NoSchedule and NoExecute taints must all be tolerated.

PreferNoSchedule taints do not filter (they only lower a score, see scores.taint_toleration).
Every failing node gets the same reason, "node(s) had untolerated taint(s)", so nodes tainted
differently are counted together: the current kube-scheduler keeps taint keys and values out
of pod statuses and events (kubernetes/kubernetes#134740).
"""

from __future__ import annotations

import numpy as np

from gpuplane.cluster.state import BoolArray
from gpuplane.objects.scheduling import Taint, TaintEffect, Toleration
from gpuplane.placement.framework import Cycle

REASON = "node(s) had untolerated taint(s)"
_FILTERED = (TaintEffect.NO_SCHEDULE, TaintEffect.NO_EXECUTE)


def first_untolerated(
    taints: tuple[Taint, ...], tolerations: tuple[Toleration, ...]
) -> Taint | None:
    """The first NoSchedule/NoExecute taint no toleration covers, or None."""
    for taint in taints:
        if taint.effect in _FILTERED and not any(t.tolerates(taint) for t in tolerations):
            return taint
    return None


class TaintTolerationFilter:
    name = "TaintToleration"
    depends = "constraints"

    def filter(self, cycle: Cycle) -> list[tuple[str, BoolArray]]:
        state, tolerations = cycle.state, cycle.pod.tolerations
        key = ("taints", tolerations)
        result: list[tuple[str, BoolArray]] | None = cycle.cache.get(state, key)
        if result is None:
            result = self._compute(cycle, tolerations)
            cycle.cache.put(key, result)
        return result

    @staticmethod
    def _compute(cycle: Cycle, tolerations: tuple[Toleration, ...]) -> list[tuple[str, BoolArray]]:
        state = cycle.state
        # Few distinct taint sets exist in a cluster; decide once per set, then fan out.
        groups = cycle.cache.get(state, ("taint-groups",))
        if groups is None:
            by_set: dict[tuple[Taint, ...], list[int]] = {}
            for i, node in enumerate(state.nodes):
                if node.taints:
                    by_set.setdefault(node.taints, []).append(i)
            groups = {taints: np.array(idx) for taints, idx in by_set.items()}
            cycle.cache.put(("taint-groups",), groups)
        failing = np.zeros(len(state), dtype=np.bool_)
        for taints, idx in groups.items():
            if first_untolerated(taints, tolerations) is not None:
                failing[idx] = True
        return [(REASON, failing)] if failing.any() else []
