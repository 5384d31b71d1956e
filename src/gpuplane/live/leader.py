"""Leader election on a coordination.k8s.io/v1 Lease, with client-go's leaderelection semantics.

Followed from client-go (tools/leaderelection, resourcelock/leaselock.go): the record is the
Lease spec (holderIdentity, leaseDurationSeconds, acquireTime, renewTime, leaseTransitions); a
candidate takes the lease when it is absent, released (no holder) or expired, where expired is
judged by the candidate's own clock: a full LeaseDuration without seeing the record change, never
by reading the remote timestamps (clocks skew; only their rate is assumed equal). Writes carry
the resourceVersion read, so of two candidates racing for one lease the second gets 409 and
keeps following. Timings default to the component-base recommendation (15 s / 10 s / 2 s).

Stricter than client-go, which does not fence at all: `is_leader()` is true only until
RenewDeadline after the send time of the last successful write, and the renew loop gives up at
that same instant, so a leader that cannot reach the API stops acting before any follower can
take over (which needs LeaseDuration > RenewDeadline of silence). On seeing another holder it
steps down at once instead of polling until the deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import random
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import httpx2

from gpuplane.live.kube import ApiStatusError, api_path
from gpuplane.live.logs import fields

log = logging.getLogger(__name__)

#: client-go's JitterFactor: acquire retries wait RetryPeriod * (1 + U[0, 1.2)).
JITTER_FACTOR = 1.2


@dataclass(frozen=True)
class ElectionTimings:
    """LeaseDuration, RenewDeadline, RetryPeriod; checked as client-go's NewLeaderElector does."""

    lease_duration_s: float = 15.0
    renew_deadline_s: float = 10.0
    retry_period_s: float = 2.0

    def __post_init__(self) -> None:
        if min(self.lease_duration_s, self.renew_deadline_s, self.retry_period_s) <= 0:
            raise ValueError("lease duration, renew deadline and retry period must be positive")
        if self.lease_duration_s <= self.renew_deadline_s:
            raise ValueError("the lease duration must be greater than the renew deadline")
        if self.renew_deadline_s <= JITTER_FACTOR * self.retry_period_s:
            raise ValueError("the renew deadline must be greater than retry period * 1.2")


@dataclass(frozen=True)
class LeaseRecord:
    """The election record as the Lease spec holds it; equality is client-go's 'record changed'."""

    holder: str = ""
    lease_duration_seconds: int = 0
    acquire_time: str | None = None
    renew_time: str | None = None
    transitions: int = 0

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> LeaseRecord:
        return cls(
            holder=str(spec.get("holderIdentity") or ""),
            lease_duration_seconds=int(spec.get("leaseDurationSeconds") or 0),
            acquire_time=spec.get("acquireTime"),
            renew_time=spec.get("renewTime"),
            transitions=int(spec.get("leaseTransitions") or 0),
        )

    def spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = {
            "holderIdentity": self.holder,
            "leaseDurationSeconds": self.lease_duration_seconds,
            "leaseTransitions": self.transitions,
        }
        if self.acquire_time is not None:
            spec["acquireTime"] = self.acquire_time
        if self.renew_time is not None:
            spec["renewTime"] = self.renew_time
        return spec


class LeaderMetric(Protocol):
    """client-go's leader_election_master_status switch (1 leading, 0 backup) per lease name."""

    def leader_status(self, name: str, leading: bool) -> None: ...


def micro_time(moment: datetime) -> str:
    """A metav1.MicroTime: RFC 3339 UTC with microseconds, as the API server stores it."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def new_identity(rng: random.Random, hostname: str | None = None) -> str:
    """hostname + "_" + a random UUID, the identity kube-scheduler gives its elector."""
    host = hostname if hostname is not None else socket.gethostname()
    return f"{host}_{uuid.UUID(int=rng.getrandbits(128), version=4)}"


@dataclass
class ElectionCallbacks:
    """on_started_leading may return an awaitable: it runs as a task, cancelled on stepping down."""

    on_started_leading: Callable[[], Awaitable[None] | None] | None = None
    on_stopped_leading: Callable[[], None] | None = None
    on_new_leader: Callable[[str], None] | None = None


@dataclass
class LeaderElector:
    """One candidate for one Lease; `run()` campaigns, leads, and returns when leadership ends."""

    http: httpx2.AsyncClient
    namespace: str
    name: str
    identity: str
    timings: ElectionTimings = field(default_factory=ElectionTimings)
    callbacks: ElectionCallbacks = field(default_factory=ElectionCallbacks)
    release_on_cancel: bool = False
    metric: LeaderMetric | None = None
    clock: Callable[[], float] = time.monotonic
    wall: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        self._observed: LeaseRecord | None = None
        self._observed_at = 0.0
        self._resource_version: str | None = None
        self._renewed_at: float | None = None  # send time of our last successful write
        self._leading = False
        self._reported_leader = ""
        self._status(False)

    @property
    def path(self) -> str:
        return api_path("coordination.k8s.io", "v1", "leases", self.namespace, self.name)

    def describe(self) -> str:
        return f"{self.namespace}/{self.name}"

    def is_leader(self) -> bool:
        """True only while we hold the lease and our last renewal is within RenewDeadline."""
        return self._leading and self._valid_until() > self.clock()

    def leader(self) -> str:
        """The last holder observed ("" when none has been seen or the lease was released)."""
        return self._observed.holder if self._observed is not None else ""

    @property
    def renewed_at(self) -> float | None:
        """The clock() reading when our last successful acquire or renew was sent."""
        return self._renewed_at

    def check(self, tolerance_s: float) -> str | None:
        """client-go's healthz watchdog: an error while leading on a lease stale past tolerance."""
        if not self._leading or self._renewed_at is None:
            return None
        late = self.clock() - self._renewed_at
        if late > self.timings.lease_duration_s + tolerance_s:
            return f"failed election to renew leadership on lease {self.describe()}"
        return None

    async def run(self) -> None:
        """Campaign until elected, lead until the lease is lost; on cancel, maybe release it."""
        leading_task: asyncio.Task[None] | None = None
        release = False
        try:
            log.info("attempting to acquire leader lease", extra=self._fields())
            await self._acquire()
            self._leading = True
            self._status(True)
            log.info("successfully acquired lease", extra=self._fields())
            leading_task = self._start_leading()
            await self._renew()
            log.info("failed to renew lease: stopped leading", extra=self._fields())
        except asyncio.CancelledError:
            release = self.release_on_cancel
            raise
        finally:  # also when a callback raised: never leave is_leader() true behind us
            await self._stop(leading_task, release)

    async def _acquire(self) -> None:
        while True:
            ok = await self._attempt()
            self._report_transition()
            if ok:
                return
            pause = self.timings.retry_period_s
            await self.sleep(pause + self.rng.random() * JITTER_FACTOR * pause)

    async def _renew(self) -> None:
        """Renew every RetryPeriod; return when we cannot (deadline passed or lease taken)."""
        while True:
            await self.sleep(self.timings.retry_period_s)
            while True:
                remaining = self._valid_until() - self.clock()
                if remaining <= 0:
                    return
                try:
                    async with asyncio.timeout(remaining):
                        ok = await self._attempt()
                except TimeoutError:
                    return
                self._report_transition()
                if ok:
                    break
                if self.leader() != self.identity:
                    return
                await self.sleep(min(self.timings.retry_period_s, remaining))

    async def _attempt(self) -> bool:
        """client-go's tryAcquireOrRenew: one read and at most one conditional write."""
        sent = self.clock()
        try:
            return await self._try_acquire_or_renew(sent)
        except (ApiStatusError, httpx2.HTTPError) as err:
            log.warning("leader election request failed", extra=self._fields(err=str(err)))
            return False

    async def _try_acquire_or_renew(self, sent: float) -> bool:
        now = micro_time(self.wall())
        mine = LeaseRecord(self.identity, max(1, int(self.timings.lease_duration_s)), now, now, 0)
        reply = await self.http.get(self.path)
        if reply.status_code == 404:
            created = await self._write("POST", mine, None)
            if created:
                self._observe(mine, sent)
            return created
        lease = _json(reply)
        current = LeaseRecord.from_spec(lease.get("spec") or {})
        if current != self._observed:
            self._observed, self._observed_at = current, self.clock()
        held_by_other = bool(current.holder) and current.holder != self.identity
        if held_by_other and self._observed_at + self.timings.lease_duration_s > self.clock():
            return False
        if current.holder == self.identity:
            mine = LeaseRecord(
                mine.holder, mine.lease_duration_seconds, current.acquire_time, now,
                current.transitions,
            )
        else:
            mine = LeaseRecord(
                mine.holder, mine.lease_duration_seconds, now, now, current.transitions + 1
            )
        version = str((lease.get("metadata") or {}).get("resourceVersion") or "")
        written = await self._write("PUT", mine, version)
        if written:
            self._observe(mine, sent)
        return written

    async def _write(self, method: str, record: LeaseRecord, version: str | None) -> bool:
        """Create or update the Lease; False on 409 (someone else wrote first)."""
        metadata: dict[str, Any] = {"name": self.name, "namespace": self.namespace}
        if version is not None:
            metadata["resourceVersion"] = version  # the optimistic-concurrency precondition
        body = {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": metadata,
            "spec": record.spec(),
        }
        if method == "POST":
            path = api_path("coordination.k8s.io", "v1", "leases", self.namespace)
            reply = await self.http.post(path, json=body)
        else:
            reply = await self.http.put(self.path, json=body)
        if reply.status_code == 409:
            log.info("lease written by another candidate first", extra=self._fields())
            return False
        written = _json(reply)
        self._resource_version = str(written["metadata"]["resourceVersion"])
        return True

    def _observe(self, record: LeaseRecord, sent: float) -> None:
        self._observed, self._observed_at = record, self.clock()
        self._renewed_at = sent

    def _valid_until(self) -> float:
        if self._renewed_at is None or self.leader() != self.identity:
            return float("-inf")
        return self._renewed_at + self.timings.renew_deadline_s

    def _start_leading(self) -> asyncio.Task[None] | None:
        if self.callbacks.on_started_leading is None:
            return None
        result = self.callbacks.on_started_leading()
        if inspect.isawaitable(result):
            return asyncio.ensure_future(result)
        return None

    async def _stop(self, leading_task: asyncio.Task[None] | None, release: bool) -> None:
        """Stop acting as leader first, then tell, then (maybe) hand the lease back."""
        was_leading = self._leading
        self._leading = False
        if leading_task is not None:
            leading_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await leading_task
        if not was_leading:
            return
        self._status(False)
        if self.callbacks.on_stopped_leading is not None:
            self.callbacks.on_stopped_leading()
        if release:
            await self._release()

    async def _release(self) -> None:
        """client-go's release: an empty holder, leaseDurationSeconds 1, transitions kept."""
        if self.leader() != self.identity or self._resource_version is None:
            return
        now = micro_time(self.wall())
        assert self._observed is not None
        empty = LeaseRecord("", 1, now, now, self._observed.transitions)
        version: str | None = self._resource_version
        try:
            async with asyncio.timeout(self.timings.renew_deadline_s):
                for _ in range(2):
                    if await self._write("PUT", empty, version):
                        self._observe(empty, self.clock())
                        self._renewed_at = None
                        log.info("released lease", extra=self._fields())
                        return
                    # 409: a renewal cancelled in flight may have landed after all. Read the
                    # lease again and release it at its new version while it is still ours.
                    lease = _json(await self.http.get(self.path))
                    if LeaseRecord.from_spec(lease.get("spec") or {}).holder != self.identity:
                        return
                    version = str((lease.get("metadata") or {}).get("resourceVersion") or "")
        except (ApiStatusError, httpx2.HTTPError, TimeoutError) as err:
            log.warning("failed to release lease", extra=self._fields(err=str(err)))

    def _report_transition(self) -> None:
        holder = self.leader()
        if holder == self._reported_leader:
            return
        self._reported_leader = holder
        log.info("new leader", extra=self._fields(leader=holder))
        if self.callbacks.on_new_leader is not None:
            self.callbacks.on_new_leader(holder)

    def _fields(self, **more: str) -> dict[str, Any]:
        return fields(lease=self.describe(), identity=self.identity, **more)

    def _status(self, leading: bool) -> None:
        if self.metric is not None:
            self.metric.leader_status(self.name, leading)


def _json(reply: httpx2.Response) -> dict[str, Any]:
    if reply.status_code >= 300:
        raise ApiStatusError.from_reply(reply.status_code, reply.headers, reply.content)
    body: dict[str, Any] = reply.json()
    return body
