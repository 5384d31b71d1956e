"""Per-node filter and score answers kept between cycles, redone only where a node changed.

A plugin that declares `depends = "node"` answers for a node from that node's state and the
pod's shape alone. For each shape the cache keeps, per node, whether the node failed those
filters and the weighted sum of those scores, with the node's version when they were computed;
a cycle redoes only the nodes whose version moved (usually the one node last bound). A caller
that needs only the filters (`Scheduler.feasible`) brings only those up to date: filters and
scores keep a version each, so the scores of a node are redone once, when next read. Versions
are stamps never handed out twice and put back by a trial's undo (see cluster.journal), so a
remembered answer is right whenever its stamp matches. A new node list (`generation`), or
another ClusterState (whose untouched nodes carry the same initial version), drops it all.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from gpuplane.cluster.state import BoolArray, ClusterState, IntArray
from gpuplane.placement.framework import Cycle, FilterPlugin, ScorePlugin, pod_shape

#: Shapes remembered at once; the least recently used goes first.
MAX_SHAPES = 64


@dataclass
class ShapeEntry:
    """One pod shape's answers for every node: `failed` valid where `filtered` is the node's
    version, `score` where `version` is."""

    version: IntArray
    failed: BoolArray
    score: IntArray
    filtered: IntArray
    #: `ClusterState.changes` when last brought up to date: equal means nothing to redo.
    changes: int = -1
    #: The same for the filters alone.
    filter_changes: int = -1


class ScoreCache:
    """The per-node answers of a profile's per-node filters and scores, by pod shape."""

    def __init__(
        self, filters: Sequence[FilterPlugin], scores: Sequence[tuple[ScorePlugin, int]]
    ) -> None:
        self.filters = list(filters)
        self.scores = list(scores)
        self.generation = -1
        self.size = -1
        #: The state the answers are about: versions are only comparable within one state.
        self.state: ClusterState | None = None
        self.entries: OrderedDict[tuple[Any, ...], ShapeEntry] = OrderedDict()

    def lookup(self, cycle: Cycle, *, refresh: bool = True, scores: bool = True) -> ShapeEntry:
        """The pod's shape's answers, brought up to date for every node (unless not asked:
        then `refresh_rows` brings up to date the nodes that will be read; `scores=False`:
        only `failed` is, the scores may be stale)."""
        state = cycle.state
        if (
            self.state is not state
            or self.generation != state.generation
            or self.size != len(state)
        ):
            self.entries.clear()
            self.state, self.generation, self.size = state, state.generation, len(state)
        key = pod_shape(cycle.pod)
        entry = self.entries.get(key)
        if entry is None:
            n = len(state)
            entry = ShapeEntry(
                np.full(n, -1, dtype=np.int64),
                np.zeros(n, dtype=np.bool_),
                np.zeros(n, dtype=np.int64),
                np.full(n, -1, dtype=np.int64),
            )
            self.entries[key] = entry
            if len(self.entries) > MAX_SHAPES:
                self.entries.popitem(last=False)
        else:
            self.entries.move_to_end(key)
        if not refresh or entry.changes == state.changes:
            return entry
        if scores:
            self._refresh(cycle, entry, state)
        elif entry.filter_changes != state.changes:
            stale = np.flatnonzero(entry.filtered != state.node_version)
            self._redo(cycle, entry, state, stale, None)
            entry.filter_changes = state.changes
        return entry

    def refresh_rows(self, cycle: Cycle, entry: ShapeEntry, start: int, end: int) -> None:
        """Bring nodes start..end-1 up to date (and leave `changes`: the rest may be stale)."""
        state = cycle.state
        if entry.changes == state.changes:
            return
        now = state.node_version[start:end]
        self._redo(
            cycle,
            entry,
            state,
            np.flatnonzero(entry.filtered[start:end] != now) + start,
            np.flatnonzero(entry.version[start:end] != now) + start,
        )

    def _refresh(self, cycle: Cycle, entry: ShapeEntry, state: ClusterState) -> None:
        now = state.node_version
        if entry.filter_changes == state.changes:
            filters = np.zeros(0, dtype=np.int64)
        else:
            filters = np.flatnonzero(entry.filtered != now)
        self._redo(cycle, entry, state, filters, np.flatnonzero(entry.version != now))
        entry.changes = entry.filter_changes = state.changes

    def _redo(
        self,
        cycle: Cycle,
        entry: ShapeEntry,
        state: ClusterState,
        filters: IntArray,
        scores: IntArray | None,
    ) -> None:
        """Redo the filters at nodes `filters` and the scores at nodes `scores` (None: none)."""
        if len(filters):
            rows = self._rows(state, filters)
            cycle.rows = rows
            try:
                failed = np.zeros(cycle.size(), dtype=np.bool_)
                for check in self.filters:
                    for _, mask in check.filter(cycle):
                        failed |= mask
            finally:
                cycle.rows = None
            target = slice(None) if rows is None else rows
            entry.failed[target] = failed
            entry.filtered[target] = state.node_version[target]
        if scores is not None and len(scores):
            rows = self._rows(state, scores)
            cycle.rows = rows
            try:
                score = np.zeros(cycle.size(), dtype=np.int64)
                for rank, weight in self.scores:
                    score += weight * rank.score(cycle)
            finally:
                cycle.rows = None
            target = slice(None) if rows is None else rows
            entry.score[target] = score
            entry.version[target] = state.node_version[target]

    @staticmethod
    def _rows(state: ClusterState, stale: IntArray) -> IntArray | None:
        # Every node at once is one vectorized pass; a few are gathered.
        return None if len(stale) == len(state) else stale
