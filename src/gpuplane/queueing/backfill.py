"""Reservations and backfill: a blocked gang is not starved by smaller work behind it.

A gang that fits its quota but not the cluster holds the reservation (one at a time: the
first blocked gang in admission order). It is worked out when the gang could start if running
workloads end as expected (its shadow time, found with what-if releases in a cluster trial)
and where it could run. Later workloads that could land there may go ahead only if they are
expected to finish before that time, so they cannot delay it. After `gang_timeout` seconds
the gang gives the reservation up and goes to the back of its queue (Kueue's requeue after
waitForPodsReady).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from gpuplane.cluster.state import BoolArray
from gpuplane.queueing.flavors import FlavorChoice
from gpuplane.queueing.gangs import GangPlacer, Moment
from gpuplane.queueing.pending import PendingQueues
from gpuplane.queueing.usage import AdmittedUsage
from gpuplane.queueing.workload import Workload

ExpectedEnd = Callable[[str], float | None]


@dataclass
class Reservation:
    key: str
    queue: str
    since: float
    start_by: float  # when the gang is expected to fit; backfill must end before it
    nodes: BoolArray  # where the gang could run: only work that can land there competes
    changes: Moment  # when start_by was worked out


class Backfill:
    """The one reservation a blocked gang may hold, and who may backfill around it."""

    def __init__(
        self,
        gangs: GangPlacer,
        usage: AdmittedUsage,
        pending: PendingQueues,
        *,
        enabled: bool,
        gang_timeout: float | None,
    ) -> None:
        self.gangs = gangs
        self.usage = usage
        self.pending = pending
        self.enabled = enabled
        self.gang_timeout = gang_timeout
        self.reservation: Reservation | None = None

    def reserve(
        self, w: Workload, queue: str, now: float, expected_end: ExpectedEnd | None
    ) -> None:
        """`w` fits its quota but not the cluster: let it hold (or refresh) the reservation."""
        if not self.enabled or w.pod_count < 2:
            return
        if self.reservation is not None and self.reservation.key != w.key:
            return  # one reservation at a time: the first blocked gang in admission order
        r = self.reservation
        if r is None or r.changes != self.gangs.moment():
            # The cluster changed since (a node failed, work ended early): work it out again.
            start_by = self._shadow_time(w, expected_end)
            since = now if r is None else r.since
            self.reservation = Reservation(
                w.key, queue, since, start_by, self.gangs.eligible(w), self.gangs.moment()
            )

    def _shadow_time(self, w: Workload, expected_end: ExpectedEnd | None) -> float:
        """When `w` could start if running workloads end as expected (inf if never known)."""
        if expected_end is None:
            return float("inf")
        active = self.usage.active
        ends = sorted((end, key) for key in active if (end := expected_end(key)) is not None)
        with self.gangs.trial():
            for end, key in ends:
                for p in active[key].placements:
                    self.gangs.state.release(p.pod.key)
                if self.gangs.place_all(w, FlavorChoice({}, True)) is not None:
                    return end
            return float("inf")

    def clear(self) -> None:
        # Whoever waited behind the reservation may go now.
        self.reservation = None
        self.pending.wake_all()

    def admitted(self, key: str) -> None:
        if self.reservation is not None and self.reservation.key == key:
            self.clear()

    def held_elsewhere(self, w: Workload, now: float) -> bool:
        """Whether a reservation held by another gang keeps `w` waiting."""
        r = self.reservation
        if r is None or r.key == w.key or r.key not in self.pending:
            return False
        # Work that cannot run where the gang runs cannot delay it.
        if not (self.gangs.eligible(w) & r.nodes).any():
            return False
        # Backfill: only what is known to end before the gang's start can go ahead of it.
        return w.duration is None or now + w.duration > r.start_by

    def expire(self, now: float) -> str | None:
        """Drop a reservation whose gang left or timed out; returns the gang if it timed out."""
        r = self.reservation
        if r is None:
            return None
        if r.key not in self.pending:
            self.clear()
            return None
        if self.gang_timeout is not None and now - r.since >= self.gang_timeout:
            workload, queue = self.pending.take(r.key)
            # Back of the queue: as if it arrived now (Kueue requeues with a new timestamp).
            self.pending.push(replace(workload, created=now), queue)
            self.clear()
            return r.key
        return None
