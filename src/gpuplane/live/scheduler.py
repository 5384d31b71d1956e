"""gpuplane as a secondary scheduler: the twin's brain bound to the Kubernetes API.

Reflectors feed the ClusterCache (Nodes, Pods, PodGroups of coscheduling and Volcano); pods
whose spec.schedulerName is ours and that have no node wait in the SchedulingQueue. Each cycle
pops one pod, runs the brain's `schedule` on the cache's state and, on success, reserves the
placement (kube-scheduler's assume), merge-patches the device annotation onto the pod and POSTs
the Binding (uid precondition). A 409 drops the reservation: the watch then shows the truth.

Gangs (see `gangs`) are tried whole when at least minMember of their pods are pending or bound;
their pending pods are placed inside one ClusterState trial and bound only if all fit. Once a
member is bound, a failed bind (a 409, an API error) is retried with its place held; if it keeps
failing, the members already bound stay bound (the API is the truth) and the rest go back to
the queue: the one case in which a gang is partly bound, and it heals when the rest bind on
their retry (a gang whose bound plus pending members reach minMember is tried again).

Hooks for the operations code: `is_leader` gates every bind (a replica that does not lead only
watches), `metrics` receives attempts and queue lengths, `ready()` says the caches have synced.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import random
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Protocol

import httpx2

from gpuplane.cluster import ClusterState
from gpuplane.live.binding import BindOutcome, bind_pod
from gpuplane.live.cache import ClusterCache, PodRecord, assignment_of, fingerprint
from gpuplane.live.events import EventRecorder
from gpuplane.live.gangs import (
    COSCHEDULING,
    VOLCANO,
    GangFailure,
    GangKey,
    PodGroups,
    bind_holding,
    gang_message,
    gang_of,
    place_redeeming,
    retake_place,
    waiting_message,
)
from gpuplane.live.kube import ApiStatusError
from gpuplane.live.reflector import Kind, Reflector, WatchEvent
from gpuplane.live.scheduling_queue import INITIAL_BACKOFF_S, MAX_BACKOFF_S, SchedulingQueue
from gpuplane.objects.assignment import (
    BIND_TIME_ANNOTATION,
    DEVICES_ANNOTATION,
    encode_bind_time,
)
from gpuplane.placement import Placement

log = logging.getLogger(__name__)

NODES = Kind("", "v1", "nodes")
PODS = Kind("", "v1", "pods")
LeaderGate = Callable[[], bool | Awaitable[bool]]
#: Binds what a cycle placed (and assumed); answers the attempt's result.
Binder = Callable[[], Awaitable[str]]


class SchedulerMetrics(Protocol):
    """What the scheduler reports; the operations module provides one (kube-scheduler's names)."""

    def attempt(self, result: str, duration_s: float) -> None:
        """One scheduling attempt: result is "scheduled", "unschedulable" or "error"."""

    def pending(self, queue: str, n: int) -> None:
        """Pods waiting in one queue ("active", "backoff", "unschedulable")."""

    def pod_scheduled(self, attempts: int) -> None:
        """A pod was bound after `attempts` scheduling attempts."""

    def watch_cluster(self, state: ClusterState) -> None:
        """The GPU gauges read this state from now on (called again after every rebuild)."""


class LiveScheduler:
    """Schedules our pods through the API; `run()` until cancelled."""

    def __init__(
        self,
        http: httpx2.AsyncClient,
        *,
        policy: str = "most-allocated",
        scheduler_name: str = "gpuplane",
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        is_leader: LeaderGate | None = None,
        metrics: SchedulerMetrics | None = None,
        recorder: EventRecorder | None = None,
        initial_backoff_s: float = INITIAL_BACKOFF_S,
        max_backoff_s: float = MAX_BACKOFF_S,
        idle_wait_s: float = 1.0,
        binds_in_flight: int = 16,
    ) -> None:
        self.http = http
        self.scheduler_name = scheduler_name
        self.clock = clock
        self.is_leader = is_leader
        self.metrics = metrics
        self.recorder = recorder or EventRecorder(http, scheduler_name)
        self.idle_wait_s = idle_wait_s
        self.queue = SchedulingQueue(
            clock, initial_backoff_s=initial_backoff_s, max_backoff_s=max_backoff_s
        )
        self.cache = ClusterCache(policy, on_change=self._cluster_changed)
        self.groups = PodGroups()
        self._wake = asyncio.Event()
        self._slots = asyncio.Semaphore(binds_in_flight)
        self._binding: set[asyncio.Task[None]] = set()
        self._watched: ClusterState | None = None  # the state the metrics read
        self._refused: dict[str, str] = {}  # pod uid -> the reader's error we reported
        rng = rng or random.Random()
        self.reflectors = [
            Reflector(http, NODES, self._on_node, rng),
            Reflector(http, PODS, self._on_pod, rng),
            Reflector(http, COSCHEDULING, self._group_handler(COSCHEDULING), rng),
            Reflector(http, VOLCANO, self._group_handler(VOLCANO), rng),
        ]
        #: Pods the readers refused, to be told so by the leader.
        self._pending_events: list[tuple[PodRecord, str]] = []
        #: Pods bound by this process (namespace/name), in order: tests check nothing twice.
        self.bound: list[str] = []

    # -- watching --------------------------------------------------------------------------

    def ready(self) -> bool:
        """True once Nodes and Pods are listed (PodGroup CRDs may be absent from a cluster)."""
        return all(r.synced.is_set() for r in self.reflectors[:2])

    async def _on_node(self, event: WatchEvent) -> None:
        self.cache.node_event(event)

    async def _on_pod(self, event: WatchEvent) -> None:
        before = self.cache.pods.get(event.key[0] + "/" + event.key[1])
        record = self.cache.pod_event(event)
        key = record.key
        ours = record.scheduler_name == self.scheduler_name
        if record.error is not None and ours and not record.node_name and not record.terminal:
            self.queue.delete(key)
            if self._refused.get(record.uid) != record.error:
                self._refused[record.uid] = record.error
                self._pending_events.append((record, record.error))
                self._wake.set()
            return
        if key not in self.cache.pods or not ours or record.node_name or record.terminal:
            self.queue.delete(key)
            return
        if key in self.cache.assumed:
            return  # in flight: its bind will answer
        updated = before is None or fingerprint(before) != fingerprint(record)
        self.queue.add(key, record.priority, record.created, updated=updated)
        self._wake.set()

    def _groups_listed(self, gang: GangKey) -> bool:
        kinds = {COSCHEDULING.group: self.reflectors[2], VOLCANO.group: self.reflectors[3]}
        return kinds[gang.api].synced.is_set()

    def _group_handler(self, kind: Kind) -> Callable[[WatchEvent], Awaitable[None]]:
        async def handle(event: WatchEvent) -> None:
            self.groups.event(kind, event)
            self.queue.move_all()
            self._wake.set()

        return handle

    def _cluster_changed(self, what: str) -> None:
        log.debug("cluster event: %s", what)
        self.queue.move_all()
        self._wake.set()

    # -- running ---------------------------------------------------------------------------

    async def run(self) -> None:
        tasks = [asyncio.create_task(r.run()) for r in self.reflectors]
        try:
            await self.loop()
        finally:
            tasks += list(self._binding)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def loop(self) -> None:
        while True:
            if not self.ready() or not await self._leading():
                await self._sleep_or_wake(self.idle_wait_s)
                continue
            await self._flush_events()
            worked = await self.run_once()
            self._report_lengths()
            if not worked:
                due = self.queue.next_due()
                wait = self.idle_wait_s if due is None else max(0.0, due - self.clock())
                await self._sleep_or_wake(min(wait, self.idle_wait_s))

    async def _sleep_or_wake(self, seconds: float) -> None:
        # Not asyncio.wait_for: before Python 3.12 it can swallow a cancellation that arrives
        # as the event is set, and the scheduler would not stop.
        timer = asyncio.get_running_loop().call_later(seconds, self._wake.set)
        try:
            await self._wake.wait()
        finally:
            timer.cancel()
        self._wake.clear()

    async def _leading(self) -> bool:
        if self.is_leader is None:
            return True
        answer = self.is_leader()
        return bool(await answer) if inspect.isawaitable(answer) else bool(answer)

    async def _flush_events(self) -> None:
        while self._pending_events:
            record, error = self._pending_events.pop(0)
            await self.recorder.failed(record, error)

    def _report_lengths(self) -> None:
        if self.metrics is not None:
            for name, n in self.queue.lengths().items():
                self.metrics.pending(name, n)

    async def run_once(self) -> bool:
        """Try the next pod (or its gang); False when nothing was due."""
        self.cache.sync()
        if self.metrics is not None and self.cache.state is not self._watched:
            self._watched = self.cache.state
            self.metrics.watch_cluster(self.cache.state)
        key = self.queue.pop()
        if key is None:
            return False
        record = self.cache.pods.get(key)
        if record is None or record.pod is None or record.node_name or record.terminal:
            self.queue.delete(key)
            return True
        gang = gang_of(record)
        start = self.clock()
        if gang is not None:
            outcome = await self._try_gang(gang)
        else:
            outcome = await self._try_one(record)
        if isinstance(outcome, str):
            self._attempted(outcome, start)
        else:
            await self._spawn(outcome, start)
        return True

    def _attempted(self, result: str, start: float) -> None:
        if self.metrics is not None:
            self.metrics.attempt(result, self.clock() - start)

    async def _spawn(self, binder: Binder, start: float) -> None:
        """Bind in the background, as kube-scheduler's binding cycle does: the next pod is
        scheduled meanwhile on the state that already holds this one (assumed)."""
        await self._slots.acquire()

        async def work() -> None:
            try:
                result = await binder()
            finally:
                self._slots.release()
                self._wake.set()
            self._attempted(result, start)

        task = asyncio.create_task(work())
        self._binding.add(task)
        task.add_done_callback(self._binding_done)

    def _binding_done(self, task: asyncio.Task[None]) -> None:
        self._binding.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("binding failed unexpectedly", exc_info=task.exception())

    # -- one pod ---------------------------------------------------------------------------

    async def _try_one(self, record: PodRecord) -> str | Binder:
        assert record.pod is not None
        placed = place_redeeming(self.cache, [record])
        if isinstance(placed, GangFailure):
            await self._unschedulable(record, placed.message)
            return "unschedulable"
        self.cache.assume(record, placed[0], reserved=True)
        return lambda: self._bind(record, placed[0])

    async def _unschedulable(self, record: PodRecord, message: str) -> None:
        self.queue.done(record.key, unschedulable=True)
        await self.recorder.failed(record, message)

    async def _bind(self, record: PodRecord, placement: Placement) -> str:
        """Bind a placement already assumed in the cache, its devices riding on the Binding.

        The API server copies a Binding's annotations onto the pod in the same write that sets
        spec.nodeName, so no one (the node agent above all) ever sees the pod bound without its
        devices, and one request per pod is saved (it was a patch before the bind).
        """
        key = record.key
        if not await self._leading():  # lost the lease during the cycle: write nothing
            return self._not_leading(key)
        annotations = {
            DEVICES_ANNOTATION: assignment_of(placement).encode(),
            # The node agent serves pending pods oldest binding first (the kubelet's calls name
            # no pod); the condition's whole seconds cannot order pods bound in one second.
            BIND_TIME_ANNOTATION: encode_bind_time(datetime.now(UTC)),
        }
        try:
            result = await bind_pod(
                self.http,
                record.namespace,
                record.name,
                placement.node,
                uid=record.uid,
                annotations=annotations,
            )
        except (ApiStatusError, httpx2.HTTPError) as err:
            log.warning("pod %s: binding to %s failed: %s", key, placement.node, err)
            self.cache.forget(key)
            self.queue.done(key, unschedulable=False)
            return "error"
        if result.outcome is BindOutcome.BOUND:
            self.bound.append(key)
            if self.metrics is not None:
                queued = self.queue.pods.get(key)
                self.metrics.pod_scheduled(1 + (queued.attempts if queued is not None else 0))
            self.queue.delete(key)
            await self.recorder.scheduled(record, placement.node)
            return "scheduled"
        log.info("pod %s: bind answered %s: %s", key, result.outcome.value, result.message)
        self.cache.forget(key)
        if result.outcome is BindOutcome.NOT_FOUND:
            self.queue.delete(key)
        else:
            # Bound elsewhere: the watch removes it from the queue; else it is retried.
            self.queue.done(key, unschedulable=False)
        return "error"

    def _not_leading(self, key: str) -> str:
        self.cache.forget(key)
        self.queue.done(key, unschedulable=False)
        return "error"

    # -- gangs -----------------------------------------------------------------------------

    async def _try_gang(self, gang: GangKey) -> str | Binder:
        members = [
            r
            for r in self.cache.pods.values()
            if gang_of(r) == gang and not r.terminal and r.pod is not None
        ]
        pending = sorted(
            (r for r in members if not r.node_name and r.scheduler_name == self.scheduler_name),
            key=lambda r: (-r.priority, r.created, r.key),
        )
        for r in pending:
            self.queue.take(r.key)
        min_member = self.groups.min_member.get(gang)
        if min_member is None and not self._groups_listed(gang):
            for r in pending:  # its PodGroups are not listed yet: no verdict, try again soon
                self.queue.done(r.key, unschedulable=False)
            return "error"
        if min_member is None or len(members) < min_member:
            message = waiting_message(gang, len(members), min_member)
            for r in pending:
                await self._unschedulable(r, message)
            return "unschedulable"
        placed = place_redeeming(self.cache, pending)
        if isinstance(placed, GangFailure):
            message = gang_message(gang, min_member, placed)
            for r in pending:
                await self._unschedulable(r, message)
            return "unschedulable"
        for r, placement in zip(pending, placed, strict=True):
            self.cache.assume(r, placement, reserved=True)
        return lambda: self._bind_gang(pending, placed)

    async def _bind_gang(self, pending: list[PodRecord], placed: list[Placement]) -> str:
        for i, (r, placement) in enumerate(zip(pending, placed, strict=True)):
            bind = functools.partial(self._bind, r, placement)
            retake = functools.partial(retake_place, self.cache, self.queue, r, placement)
            if not await bind_holding(bind, retake, i > 0, self.queue.initial_backoff_s):
                # Members bound so far stay bound; the rest go back to the queue and heal the
                # gang when they bind (see the module docstring).
                for rest in pending[i + 1 :]:
                    self.cache.forget(rest.key)
                    self.queue.done(rest.key, unschedulable=False)
                return "error"
        return "scheduled"
