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
from gpuplane.cluster.state import BoolArray
from gpuplane.objects.pod import Pod
from gpuplane.objects.queues import ResourceFlavor
from gpuplane.placement.scheduler import Placement, Scheduler
from gpuplane.queueing.flavors import FlavorChoice, with_flavor
from gpuplane.queueing.outcomes import Admission
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
        attempts are such repeats).
        """
        placed: list[Placement] = []
        changes = self.moment()
        elastic = w.min_pods is not None
        # The first pod's shape, checked before any pod object is built (the common case).
        first = (pod_shape(w.pod_sets[0].template), tuple(sorted(choice.flavors.items())))
        if w.pod_sets and not elastic and self._unplaceable_first.get(first) == changes:
            return None
        with self.trial() as trial:
            for pod in w.pods():
                if pod.key in placed_already:
                    continue
                pod = with_flavor(pod, self.flavors, choice.flavors)
                shape = pod_shape(pod)
                if self._unplaceable.get(shape) == changes and not placed and not elastic:
                    return None
                decision = self.scheduler.place(pod)
                if isinstance(decision, Placement):
                    placed.append(decision)
                    continue
                if elastic:
                    continue
                if not placed:
                    self._unplaceable[shape] = changes
                    self._unplaceable_first[first] = changes
                return None
            if elastic and (not placed or len(placed) + len(placed_already) < (w.min_pods or 0)):
                return None
            trial.keep()
        return placed

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


def workload_shape(w: Workload) -> Shape:
    return tuple((pod_shape(ps.template), ps.count) for ps in w.pod_sets)
