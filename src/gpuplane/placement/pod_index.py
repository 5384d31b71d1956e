"""The pods bound on each node, kept in step with a ClusterState at the cost of what changed.

ClusterState keeps its bindings in one dict, in the order they were made, and a pod bound
again gets a new Binding object at the end. So the bindings made since the last look are the
tail of that dict back to the first binding already known, and a release shows up as a node
whose version moved: only those nodes are checked for bindings that went away.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from gpuplane.cluster.binding import Binding
from gpuplane.cluster.state import ClusterState, IntArray


@dataclass(frozen=True)
class Changes:
    """What a refresh found: nodes whose version moved, bindings added and removed."""

    nodes: IntArray
    added: list[Binding] = field(default_factory=list)
    removed: list[Binding] = field(default_factory=list)
    #: True when the index was rebuilt from scratch (new state or new node set).
    rebuilt: bool = False


class PodsByNode:
    """Node index -> its bindings; call `refresh` before reading after the state changed."""

    def __init__(self) -> None:
        self._state: ClusterState | None = None
        self._generation = -1
        self._version: IntArray = np.zeros(0, dtype=np.int64)
        self._on: list[dict[str, Binding]] = []
        self._known: dict[str, Binding] = {}

    def refresh(self, state: ClusterState) -> Changes:
        """Catch up with `state` and say what changed since the last refresh."""
        rebuilt = state is not self._state or state.generation != self._generation
        if rebuilt:
            self._state, self._generation = state, state.generation
            self._version = np.full(len(state), -1, dtype=np.int64)
            self._on = [{} for _ in range(len(state))]
            self._known = {}
        changed = np.flatnonzero(state.node_version != self._version)
        if not changed.size:
            return Changes(changed, rebuilt=rebuilt)
        bindings = state.bindings
        added: list[Binding] = []
        for key in reversed(bindings):
            binding = bindings[key]
            if self._known.get(key) is binding:
                break
            added.append(binding)
        added.reverse()
        removed: list[Binding] = []
        for i in changed:
            on = self._on[i]
            for key in [k for k, b in on.items() if bindings.get(k) is not b]:
                if self._known.get(key) is on[key]:
                    del self._known[key]
                removed.append(on.pop(key))
        for binding in added:
            self._on[binding.node][binding.pod] = binding
            self._known[binding.pod] = binding
        self._version[changed] = state.node_version[changed]
        return Changes(changed, added, removed, rebuilt)

    def on(self, node: int) -> list[Binding]:
        """The bindings on `node` as of the last refresh, oldest first."""
        return list(self._on[node].values())
