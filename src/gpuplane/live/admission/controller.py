"""The controller of Kueue AdmissionChecks whose spec.controllerName is gpuplane.io/placement.

It runs in the scheduler's process, on the LiveScheduler's cache: a Workload whose quota Kueue
reserved and whose check is Pending is tried whole on the live state, counting what is already
promised (`promises`); if every pod fits, the placements are held and the check set Ready, with
podSetUpdates that let the Workload's pods take them over; if not, the check stays Pending with
the brain's reason (kube-scheduler's wording), or, after `retry_after_s`, is set to Retry so
that Kueue gives the quota back to others and requeues the Workload.

Each pass (on a Workload or AdmissionCheck event, and every `poll_s`, which notices capacity
freed) first settles the promises: a promise whose Workload is gone, finished, without quota or
no longer Ready is let go; one past `promise_timeout_s` (from the check's Ready time) lets go of
what its pods did not take; a Ready check with no promise known here is restored from the
Workload's status. Then the Pending Workloads are tried, oldest first, so that of two Workloads
competing for one capacity the first is promised it and the second waits.

Only the leader (`is_leader`) writes; a follower keeps promises restored all the same, so that
its scheduler never places pods on promised capacity when it takes over.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2

from gpuplane.live.admission.kueue import (
    MERGE_PATCH,
    PENDING,
    READY,
    RETRY,
    VERSIONS,
    Workload,
    active_condition,
    active_patch,
    admission_checks,
    check_patch,
    is_ours,
    parse_time,
    pod_set_update,
    promised_nodes,
    read_workload,
    workloads,
)
from gpuplane.live.admission.promises import PromiseBook
from gpuplane.live.cache import ClusterCache
from gpuplane.live.kube import ApiStatusError, api_path
from gpuplane.live.reflector import EventType, Obj, Reflector, WatchEvent
from gpuplane.live.scheduler import LeaderGate, LiveScheduler

log = logging.getLogger(__name__)

#: How long a promise waits for its pods to be placed (Kueue starts the job; pods get created).
PROMISE_TIMEOUT_S = 300.0


def _rv(obj: Obj) -> int | None:
    text = (obj.get("metadata") or {}).get("resourceVersion")
    return int(text) if isinstance(text, str) and text.isdigit() else None


class AdmissionCheckController:
    """Runs the gpuplane.io/placement checks on `cache`; `run()` until cancelled."""

    def __init__(
        self,
        http: httpx2.AsyncClient,
        cache: ClusterCache,
        *,
        version: str = VERSIONS[0],
        cache_ready: Callable[[], bool] = lambda: True,
        is_leader: LeaderGate | None = None,
        promise_timeout_s: float = PROMISE_TIMEOUT_S,
        retry_after_s: float | None = None,
        poll_s: float = 1.0,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        rng: random.Random | None = None,
    ) -> None:
        if version not in VERSIONS:
            raise ValueError(f"Kueue API version {version!r}: one of {', '.join(VERSIONS)}")
        self.http = http
        self.version = version
        self.cache = cache
        self.cache_ready = cache_ready
        self.is_leader = is_leader
        self.promise_timeout = timedelta(seconds=promise_timeout_s)
        self.retry_after = None if retry_after_s is None else timedelta(seconds=retry_after_s)
        self.poll_s = poll_s
        self.now = now
        self.book = PromiseBook(cache)
        self.workloads: dict[str, Workload] = {}
        self.checks: dict[str, Obj] = {}  # our AdmissionChecks by name
        #: Workload key -> (the state it was last tried on, the verdict): tried again on change.
        self._tried: dict[str, tuple[tuple[int, int], str]] = {}
        #: Every state written, in order, (workload key, check, state): tests count them.
        self.written: list[tuple[str, str, str]] = []
        #: The promises the API shows are held (after the first pass on listed caches).
        self.restored = False
        self._wake = asyncio.Event()
        rng = rng or random.Random()
        self.reflectors = [
            Reflector(http, workloads(version), self._on_workload, rng),
            Reflector(http, admission_checks(version), self._on_check, rng),
        ]

    # -- watching --------------------------------------------------------------------------

    @classmethod
    def for_scheduler(cls, live: LiveScheduler, **options: Any) -> AdmissionCheckController:
        """A controller on `live`'s cache, sharing its leader gate; `live` then schedules only
        once the promises the API shows are held again (after a start, a restart, a failover)."""
        gate = live.is_leader
        check = cls(live.http, live.cache, cache_ready=live.ready, is_leader=gate, **options)
        live.is_leader = check.scheduling_gate
        return check

    def ready(self) -> bool:
        """The cache and both kinds listed (a kind not served, Kueue not installed, counts)."""
        listed = all(r.synced.is_set() or r.absent for r in self.reflectors)
        return self.cache_ready() and listed

    async def scheduling_gate(self) -> bool:
        """The scheduler's gate: the promises are restored, and we lead."""
        return self.restored and await self._leading()

    async def _on_workload(self, event: WatchEvent) -> None:
        key = f"{event.key[0] or 'default'}/{event.key[1]}"
        if event.type is EventType.DELETED:
            self.workloads.pop(key, None)
        else:
            self._keep(read_workload(event.obj))
        self._wake.set()

    def _keep(self, workload: Workload) -> None:
        """Store a Workload unless ours is newer (a write's reply arrives before its event)."""
        known = self.workloads.get(workload.key)
        if known is not None and known.uid == workload.uid:
            old, new = _rv(known.obj), _rv(workload.obj)
            if old is not None and new is not None and new < old:
                return
        self.workloads[workload.key] = workload

    async def _on_check(self, event: WatchEvent) -> None:
        name = event.key[1]
        if event.type is EventType.DELETED or not is_ours(event.obj):
            self.checks.pop(name, None)
        else:
            self.checks[name] = event.obj
        self._wake.set()

    # -- running ---------------------------------------------------------------------------

    async def run(self) -> None:
        tasks = [asyncio.create_task(r.run()) for r in self.reflectors]
        try:
            while True:
                if self.ready():
                    await self.run_once()
                timer = asyncio.get_running_loop().call_later(self.poll_s, self._wake.set)
                try:
                    await self._wake.wait()
                finally:
                    timer.cancel()
                self._wake.clear()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _leading(self) -> bool:
        if self.is_leader is None:
            return True
        answer = self.is_leader()
        return bool(await answer) if inspect.isawaitable(answer) else bool(answer)

    async def run_once(self) -> None:
        """One pass: settle the promises, then (leader only) keep checks Active, decide."""
        now = self.now()
        self.settle(now)
        self.restored = True
        if not await self._leading():
            return
        for obj in list(self.checks.values()):
            await self._keep_active(obj, now)
        waiting = [w for w in self.workloads.values() if self._pending_check(w) is not None]
        for workload in sorted(waiting, key=lambda w: (w.created, w.key)):
            check = self._pending_check(workload)
            if check is not None and workload.key not in self.book.promises:
                await self._decide(workload, check, now)

    def _our_state(self, workload: Workload) -> tuple[str, str, str] | None:
        """(check name, state, since) of our check on the Workload, if it has one."""
        for name, state in workload.checks.items():
            if name in self.checks:
                return name, state.state, state.since
        return None

    def _pending_check(self, workload: Workload) -> str | None:
        ours = self._our_state(workload)
        if ours is None or ours[1] != PENDING or not workload.quota_reserved or workload.finished:
            return None
        return ours[0]

    # -- promises --------------------------------------------------------------------------

    def settle(self, now: datetime) -> None:
        """Let go of promises no longer due; restore those the API shows and we do not hold."""
        for key in list(self.book.promises):
            workload = self.workloads.get(key)
            ours = None if workload is None else self._our_state(workload)
            promise = self.book.promises[key]
            if (
                workload is None
                or workload.uid != promise.uid
                or workload.finished
                or not workload.quota_reserved
                or ours is None
                or ours[1] != READY
            ):
                self.book.forget(key, "promise withdrawn")
                continue
            if now >= promise.expires and self.book.outstanding(key):
                log.info("workload %s: promise expired, its capacity let go", key)
                self.book.release(key, "promise expired")
        for workload in self.workloads.values():
            ours = self._our_state(workload)
            if ours is None or ours[1] != READY or workload.key in self.book.promises:
                continue
            if not workload.quota_reserved or workload.finished:
                continue
            since = parse_time(ours[2]) or now
            expires = since + self.promise_timeout
            nodes = promised_nodes(workload.checks[ours[0]])
            if now >= expires:
                nodes = {}
            self.book.restore(workload, nodes, expires, now)

    async def _decide(self, workload: Workload, check: str, now: datetime) -> None:
        state = self.cache.state
        version = (self.cache.rebuilds, state.changes)
        tried = self._tried.get(workload.key)
        if tried is not None and tried[0] == version:
            await self._maybe_retry(workload, check, tried[1], now)
            return
        promise = self.book.make(workload, now + self.promise_timeout, now)
        if isinstance(promise, str):
            self._tried[workload.key] = ((self.cache.rebuilds, self.cache.state.changes), promise)
            if not await self._maybe_retry(workload, check, promise, now):
                current = workload.checks[check].message
                if current != promise:
                    await self._write(workload, check, PENDING, promise, now)
            return
        self._tried.pop(workload.key, None)
        nodes = self.book.nodes(workload.key)
        updates = [
            pod_set_update(workload, s.name, nodes.get(s.name, []))
            for s in workload.pod_sets
        ]
        placed = ", ".join(f"{s}: {', '.join(sorted(set(n)))}" for s, n in nodes.items())
        message = f"all pods can be placed now ({placed}); capacity held for them"
        if not await self._write(workload, check, READY, message, now, updates):
            self.book.forget(workload.key, "check not written")

    async def _maybe_retry(self, workload: Workload, check: str, why: str, now: datetime) -> bool:
        since = parse_time(workload.checks[check].since)
        if self.retry_after is None or since is None or now - since < self.retry_after:
            return False
        seconds = int(self.retry_after.total_seconds())
        message = f"not placeable for {seconds}s, quota given back: {why}"
        await self._write(workload, check, RETRY, message, now)
        return True

    # -- writes ----------------------------------------------------------------------------

    async def _write(
        self,
        workload: Workload,
        check: str,
        state: str,
        message: str,
        now: datetime,
        updates: list[dict[str, Any]] | None = None,
    ) -> bool:
        patch = check_patch(workload, check, state, message, now, updates)
        path = api_path(
            "kueue.x-k8s.io", self.version, "workloads", workload.namespace, workload.name
        )
        reply = await self._patch(f"{path}/status", patch, f"workload {workload.key}")
        if reply is None:
            return False
        self._keep(read_workload(reply))
        self.written.append((workload.key, check, state))
        log.info("workload %s: check %s %s: %s", workload.key, check, state, message)
        return True

    async def _keep_active(self, obj: Obj, now: datetime) -> None:
        condition, needed = active_condition(obj, now)
        if not needed:
            return
        name = str((obj.get("metadata") or {}).get("name"))
        path = api_path("kueue.x-k8s.io", self.version, "admissionchecks", None, name)
        reply = await self._patch(f"{path}/status", active_patch(obj, condition), f"check {name}")
        if reply is not None:
            self.checks[name] = reply

    async def _patch(self, path: str, patch: Obj, what: str) -> Obj | None:
        try:
            reply = await self.http.patch(path, json=patch, headers=MERGE_PATCH)
        except httpx2.HTTPError as err:
            log.warning("%s: status not written: %s", what, err)
            return None
        if reply.status_code >= 300:
            error = ApiStatusError.from_reply(reply.status_code, reply.headers, reply.content)
            # 409: our copy is stale; the watch brings the new one and the next pass retries.
            log.warning("%s: status not written: %s", what, error)
            return None
        body: Obj = reply.json()
        return body
