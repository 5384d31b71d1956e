"""Gangs: place every pod of a workload or none, as a what-if that leaves no trace if refused.

Placement runs inside `ClusterState.trial()`, kept only when every pod found a node, so a gang
refused half way leaves nothing behind, not even a GPU its first pods reshaped (dynamic MIG).

The admission engine remembers refusals (a pod shape that found no room, a victim search that
found nothing) with the moment they were made: the state's change counter together with an
epoch of trials. A trial puts the counter back on exit, since the state is then what it was;
but some remembered refusals depend on more than the state (the pass's shape memo is blind to
the queue and priority, which decide whether preemption can help), and have always been kept
only until the next change or trial. The epoch keeps them exactly that short-lived.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import numpy as np

from gpuplane.cluster.journal import Trial
from gpuplane.cluster.state import BoolArray, IntArray
from gpuplane.objects.pod import Pod
from gpuplane.objects.queues import ResourceFlavor
from gpuplane.placement.scheduler import Placement, Scheduler
from gpuplane.queueing.flavors import FlavorChoice, with_flavor
from gpuplane.queueing.outcomes import Admission
from gpuplane.queueing.retry import FailedTry, remember, repeatable
from gpuplane.queueing.usage import AdmittedUsage
from gpuplane.queueing.workload import Workload

Moment = tuple[int, int]  # (ClusterState.changes, trial epoch)
Shape = tuple[object, ...]


class GangPlacer:
    """All-or-nothing placement of workloads through one Scheduler, with its refusal memos."""

    def __init__(self, scheduler: Scheduler, flavors: Mapping[str, ResourceFlavor]) -> None:
        self.scheduler = scheduler
        self.state = scheduler.state
        self.flavors = flavors
        self._epoch = 0
        self._unplaceable: dict[Shape, Moment] = {}
        self._unplaceable_first: dict[Shape, Moment] = {}
        self._eligible: dict[Shape, BoolArray] = {}
        self._failed: dict[Shape, FailedTry] = {}
        self._repeatable_for = (-1, False)

    def moment(self) -> Moment:
        """When now is, for memos: moves on every change to the cluster and every trial."""
        return (self.state.changes, self._epoch)

    @contextmanager
    def trial(self) -> Iterator[Trial]:
        """A what-if on the cluster (see `ClusterState.trial`) that moves the moment on."""
        with self.state.trial() as trial:
            yield trial
        if trial.changed and not trial.kept:
            self._epoch += 1

    def place_all(
        self, w: Workload, choice: FlavorChoice, placed_already: frozenset[str] = frozenset()
    ) -> list[Placement] | None:
        """Place every pod of `w` (but those `placed_already`) or none of them.

        An elastic workload (`min_pods`) keeps what it placed once `min_pods` of its pods run
        (counting `placed_already`); pods that find no room are left for later. A pod shape
        that found no node is remembered with the moment: until something changes, the same
        shape is refused at once instead of filtering again (with a deep backlog most
        attempts are such repeats). A gang's failed try is remembered with the nodes that
        decided it (see `retry`), and not tried again while they stay as they were.
        """
        changes = self.moment()
        elastic = w.min_pods is not None
        # The first pod's shape, checked before any pod object is built (the common case).
        first = (first_pod_shape(w), tuple(sorted(choice.flavors.items())))
        if w.pod_sets and not elastic and self._unplaceable_first.get(first) == changes:
            return None
        key: Shape | None = None
        if not elastic and not placed_already and self._repeatable():
            key = (workload_shape(w), first[1])
            failed = self._failed.get(key)
            if failed is not None and failed.fails_again(self.scheduler, self._samples(w, choice)):
                # What the try would have done on its way to failing, done without it.
                if failed.at_first:
                    self._unplaceable[failed.shape] = changes
                    self._unplaceable_first[first] = changes
                else:
                    self._epoch += 1
                return None
        draws = self._draws() if key is not None else None
        placed, refused = self._try(w, choice, placed_already, changes, first)
        if refused is not None and key is not None and draws == self._draws():
            samples = self._samples(w, choice)
            eligible = self._eligible_of(samples)
            self._failed[key] = remember(self.scheduler, samples, eligible, *refused)
        return placed

    def _try(
        self,
        w: Workload,
        choice: FlavorChoice,
        placed_already: frozenset[str],
        changes: Moment,
        first: Shape,
    ) -> tuple[list[Placement] | None, tuple[bool, Shape] | None]:
        """The placement, or None and (whether the first pod failed, its shape) when refused."""
        placed: list[Placement] = []
        elastic = w.min_pods is not None
        with self.trial() as trial:
            for pod in w.pods():
                if pod.key in placed_already:
                    continue
                pod = with_flavor(pod, self.flavors, choice.flavors)
                shape = pod_shape(pod)
                if self._unplaceable.get(shape) == changes and not placed and not elastic:
                    return None, (True, shape)
                decision = self.scheduler.place(pod)
                if isinstance(decision, Placement):
                    placed.append(decision)
                    continue
                if elastic:
                    continue
                if not placed:
                    self._unplaceable[shape] = changes
                    self._unplaceable_first[first] = changes
                return None, (not placed, shape)
            if elastic and (not placed or len(placed) + len(placed_already) < (w.min_pods or 0)):
                return None, None
            trial.keep()
        return placed, None

    def _repeatable(self) -> bool:
        size = len(self.state)
        if self._repeatable_for[0] != size:
            self._repeatable_for = (size, repeatable(self.scheduler))
        return self._repeatable_for[1]

    def _draws(self) -> object:
        """The scheduler's random generator's state: a try that drew from it is not repeatable."""
        rng = self.scheduler.rng
        return None if rng is None else rng.bit_generator.state

    def _samples(self, w: Workload, choice: FlavorChoice) -> list[Pod]:
        """One pod of each pod set, as it would be placed (its flavors applied)."""
        pods, out, at = w.pods(), [], 0
        for ps in w.pod_sets:
            out.append(with_flavor(pods[at], self.flavors, choice.flavors))
            at += ps.count
        return out

    def _eligible_of(self, pods: list[Pod]) -> IntArray:
        nodes = np.zeros(len(self.state), dtype=np.bool_)
        for pod in pods:
            key = (pod_shape(pod), self.state.generation)
            mask = self._eligible.get(key)
            if mask is None:
                mask = self.scheduler.eligible(pod)
                self._eligible[key] = mask
            nodes |= mask
        return np.flatnonzero(nodes)

    def place_admitted(self, usage: AdmittedUsage, now: float) -> list[Admission]:
        """Place the pods of admitted workloads that are not placed yet: all of them in
        quota-only mode, and an elastic gang's pods that did not fit when it started."""
        out: list[Admission] = []
        active = usage.active
        for key in sorted(usage.unplaced, key=lambda k: (active[k].admitted_at, k)):
            a = active[key]
            have = frozenset(p.pod.key for p in a.placements)
            placements = self.place_all(a.workload, FlavorChoice(a.flavors, True), have)
            if placements is not None:
                a.placements = a.placements + placements
                if len(a.placements) == a.workload.pod_count:
                    usage.unplaced.discard(key)
                placed = tuple(a.placements)
                out.append(Admission(a.workload, a.queue, a.flavors, placed, a.borrowing, now))
        return out

    def eligible(self, w: Workload) -> BoolArray:
        """Nodes any pod of `w` could ever use (taints, selectors, affinity), cached per shape."""
        nodes = np.zeros(len(self.state), dtype=np.bool_)
        for ps in w.pod_sets:
            key = (pod_shape(ps.template), self.state.generation)
            mask = self._eligible.get(key)
            if mask is None:
                mask = self.scheduler.eligible(ps.template)
                self._eligible[key] = mask
            nodes |= mask
        return nodes


def pod_shape(pod: Pod) -> Shape:
    """What decides where a pod can go; two pods of one shape fit or fail alike."""
    return (
        pod.cpu_milli,
        pod.memory_request_bytes,  # fit compares bytes (see ClusterState.mem_free_bytes)
        pod.gpu,
        tuple(sorted(pod.extended.items())),
        tuple(sorted(pod.native.items())),
        tuple(sorted(pod.node_selector.items())),
        pod.affinity.required,
        pod.tolerations,
        pod.node_name,
    )


#: Every distinct shape seen, numbered: a memo keyed by a shape's number hashes an int, not
#: a deep tuple of requests, selectors and tolerations (shapes are few; each is held once).
_numbers: dict[Shape, int] = {}


def shape_number(shape: Shape) -> int:
    """The number of `shape`: equal shapes, equal numbers."""
    return _numbers.setdefault(shape, len(_numbers))


def workload_shape(w: Workload) -> int:
    """The number of `w`'s pod sets' shapes and counts (worked out once per workload)."""
    cached: int | None = w.__dict__.get("_shape")
    if cached is None:
        shapes = tuple((pod_shape(ps.template), ps.count) for ps in w.pod_sets)
        cached = shape_number(shapes)
        # Workload is frozen; the cache is not part of its value.
        object.__setattr__(w, "_shape", cached)
        object.__setattr__(w, "_first_shape", shape_number(shapes[0][0]) if shapes else -1)
    return cached


def first_pod_shape(w: Workload) -> int:
    """The number of the shape of `w`'s first pod set's template."""
    workload_shape(w)
    number: int = w.__dict__["_first_shape"]
    return number
