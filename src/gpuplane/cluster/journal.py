"""The undo journal behind `ClusterState.trial()`, and the stamps its version counters take.

A trial records one small entry per change (a reserve, a release, a MIG reshape, a health
flip, a node version bump) and, on exit, undoes them newest first. Nothing is copied up
front, so a trial costs what it changes, not the size of the cluster.

Version counters (`ClusterState.node_version`, `ClusterState.changes`) are cache keys: score
plugins, the pod index and the admission engine's memos keep an answer together with the
counter value it was computed at. Every bump takes a fresh value from one process-wide
monotonic stamp that is never handed out twice, and a trial puts the pre-trial values back on
exit. That is sound both ways: an entry cached before the trial matches again, and rightly
so, because the state is then identical to what it was computed from; an entry cached during
the trial keys on a stamp that no later state can ever carry again, so it never matches. A
per-state `+= 1` counter would not do: after a restore, the next bump would reissue a value
that a cache already holds for a different (trial) state.
"""

from __future__ import annotations

import itertools
from bisect import bisect_left
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gpuplane.cluster.binding import Binding, MigLayout, MigReconfiguration
    from gpuplane.cluster.state import ClusterState
    from gpuplane.sharing import Device

_STAMPS = itertools.count(1)


def stamp() -> int:
    """A value no version counter has held before, in this process."""
    return next(_STAMPS)


@dataclass(frozen=True, slots=True)
class Reserved:
    binding: Binding


@dataclass(frozen=True, slots=True)
class Released:
    binding: Binding
    stamp: int  # where the binding stood in the state's binding order
    users: dict[str, str] | None  # the node's device users before, when devices were freed


@dataclass(frozen=True, slots=True)
class Reshaped:
    node: int
    gpu: int
    layout: MigLayout | None  # None: the GPU had no layout entry
    devices: list[Device]
    index: dict[str, Device]
    #: (index, event) of a logged reshape this one struck from the log; None: it logged one.
    struck: tuple[int, MigReconfiguration] | None


@dataclass(frozen=True, slots=True)
class HealthSet:
    node: int
    gpu: int
    healthy: bool


@dataclass(frozen=True, slots=True)
class Versioned:
    node: int
    version: int


Entry = Reserved | Released | Reshaped | HealthSet | Versioned


@dataclass
class Trial:
    """One open trial: where its entries start and the counters to put back."""

    mark: int
    changes: int
    kept: bool = False
    #: Whether anything changed inside the trial (set on exit, before any undo).
    changed: bool = False

    def keep(self) -> None:
        """Keep the trial's changes on exit (a nested trial hands them to its parent)."""
        self.kept = True


@dataclass
class Journal:
    entries: list[Entry] = field(default_factory=list)
    open: list[Trial] = field(default_factory=list)

    def record(self, entry: Entry) -> None:
        if self.open:
            self.entries.append(entry)


def undo(state: ClusterState, trial: Trial) -> None:
    """Undo the trial's entries, newest first, then put its counters back."""
    entries = state._journal.entries
    reinstated: list[str] = []
    while len(entries) > trial.mark:
        e = entries.pop()
        if isinstance(e, Versioned):
            state.node_version[e.node] = e.version
        elif isinstance(e, Reserved):
            del state.bindings[e.binding.pod]
            del state._order[e.binding.pod]
            state._apply(e.binding, +1)
        elif isinstance(e, Released):
            b = e.binding
            state._apply(b, -1)
            if e.users is not None:  # the users dict back in its old order too
                users = state.device_users[b.node]
                users.clear()
                users.update(e.users)
            state.bindings[b.pod] = b
            state._order[b.pod] = e.stamp
            reinstated.append(b.pod)
        elif isinstance(e, Reshaped):
            if e.layout is None:
                del state.mig_layouts[e.node][e.gpu]
            else:
                state.mig_layouts[e.node][e.gpu] = e.layout
            state.devices[e.node] = e.devices
            state.device_index[e.node] = e.index
            if e.struck is None:
                state.mig_reconfigurations.pop()
            else:
                state.mig_reconfigurations.insert(*e.struck)
            state._refresh(e.node)
        else:
            state.gpu_healthy[e.node, e.gpu] = e.healthy
            state._refresh(e.node)
    state.changes = trial.changes
    if reinstated:
        _reorder(state, reinstated)


def _reorder(state: ClusterState, reinstated: list[str]) -> None:
    """Put reinstated bindings back where they stood: the dict is kept in stamp order.

    The undo appended them at the end; the bindings before them are those the trial never
    released, still in stamp order. Each reinstated one is merged in at its place (found by
    bisection), and only the tail from the first of those places on is rebuilt, with
    C-level bulk operations: the cost is that tail's length at C speed, not the number of
    bindings at Python speed.
    """
    bindings, order = state.bindings, state._order
    # Those still bound (an older Reserved entry may have taken one away again), oldest first.
    back = sorted({k for k in reinstated if k in bindings}, key=order.__getitem__)
    if not back:
        return
    keys = list(bindings)
    kept = len(keys) - len(back)
    cuts = [bisect_left(keys, order[k], 0, kept, key=order.__getitem__) for k in back]
    start = cuts[0]
    merged: list[str] = []
    at = start
    for cut, key in zip(cuts, back, strict=True):
        merged.extend(keys[at:cut])
        merged.append(key)
        at = cut
    merged.extend(keys[at:kept])
    tail = keys[start:]
    values = dict(zip(tail, map(bindings.pop, tail), strict=True))
    bindings.update(zip(merged, map(values.__getitem__, merged), strict=True))
