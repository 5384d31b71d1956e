"""NodeAffinity's score: the summed weights of the preferred terms a node matches."""

from __future__ import annotations

import numpy as np

from gpuplane.cluster.state import IntArray
from gpuplane.placement.framework import Cycle
from gpuplane.placement.scores.normalize import default_normalize


class NodeAffinityScore:
    """preferredDuringSchedulingIgnoredDuringExecution, normalized so the best node gets 100."""

    name = "NodeAffinity"

    def uniform(self, cycle: Cycle) -> int | None:
        """0 everywhere for a pod without preferences; else it depends on the node."""
        return None if cycle.pod.affinity.preferred else 0

    def score(self, cycle: Cycle) -> IntArray:
        affinity = cycle.pod.affinity
        if not affinity.preferred:
            # Upstream skips the plugin for such pods: it adds nothing to any node.
            return np.zeros(len(cycle.state), dtype=np.int64)
        key = ("preferred", affinity.preferred)
        raw: IntArray | None = cycle.cache.get(cycle.state, key)
        if raw is None:
            raw = np.array(
                [affinity.preference(n.name, dict(n.labels)) for n in cycle.state.nodes],
                dtype=np.int64,
            )
            cycle.cache.put(key, raw)
        return default_normalize(cycle, raw, reverse=False)
