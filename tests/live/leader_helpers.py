"""Electors on the fake API with shrunken timings, and a monitor of who believes it leads."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx2
from fakeapi import FakeApiServer

from gpuplane.live.leader import ElectionCallbacks, ElectionTimings, LeaderElector

FAST = ElectionTimings(lease_duration_s=0.6, renew_deadline_s=0.4, retry_period_s=0.1)
LEASE = "/apis/coordination.k8s.io/v1/namespaces/default/leases/gpuplane-scheduler"


@dataclass
class Candidate:
    """An elector with what its callbacks saw, stamped with the loop's clock."""

    elector: LeaderElector
    started: list[float] = field(default_factory=list)
    stopped: list[float] = field(default_factory=list)
    leaders: list[str] = field(default_factory=list)
    task: asyncio.Task[None] | None = None

    def start(self) -> asyncio.Task[None]:
        self.task = asyncio.create_task(self.elector.run())
        return self.task


class Frozen:
    """A sleep that hangs forever once frozen: a process whose timers stopped firing."""

    def __init__(self) -> None:
        self.frozen = False

    async def __call__(self, seconds: float) -> None:
        if self.frozen:
            await asyncio.Event().wait()
        await asyncio.sleep(seconds)
        if self.frozen:
            await asyncio.Event().wait()


def candidate(
    http: httpx2.AsyncClient,
    identity: str,
    timings: ElectionTimings = FAST,
    *,
    release_on_cancel: bool = False,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    rng: random.Random | None = None,
) -> Candidate:
    loop = asyncio.get_running_loop()
    box: list[Candidate] = []
    callbacks = ElectionCallbacks(
        on_started_leading=lambda: box[0].started.append(loop.time()),
        on_stopped_leading=lambda: box[0].stopped.append(loop.time()),
        on_new_leader=lambda who: box[0].leaders.append(who),
    )
    elector = LeaderElector(
        http=http,
        namespace="default",
        name="gpuplane-scheduler",
        identity=identity,
        timings=timings,
        callbacks=callbacks,
        release_on_cancel=release_on_cancel,
        clock=loop.time,
        sleep=sleep,
        rng=rng if rng is not None else random.Random(identity),
    )
    box.append(Candidate(elector))
    return box[0]


class Barrier:
    """Holds the first two requests of one method until both are issued: a forced race.

    Each candidate reads before it writes, so when both writes are held here both were built
    from the same read (the same resourceVersion, or the same 404).
    """

    def __init__(self, method: str) -> None:
        self.method = method
        self.arrived = 0
        self.both = asyncio.Event()

    async def __call__(self, request: httpx2.Request) -> None:
        if request.method != self.method or self.both.is_set():
            return
        self.arrived += 1
        if self.arrived == 2:
            self.both.set()
        else:
            await asyncio.wait_for(self.both.wait(), timeout=3.0)


@asynccontextmanager
async def client(
    fake: FakeApiServer, codes: list[int] | None = None, barrier: Barrier | None = None
) -> AsyncIterator[httpx2.AsyncClient]:
    """An async client on the fake; every reply's status code is appended to `codes`."""

    async def record(reply: httpx2.Response) -> None:
        if codes is not None:
            codes.append(reply.status_code)

    hooks: dict[str, list[Callable[..., Awaitable[None]]]] = {"response": [record]}
    if barrier is not None:
        hooks["request"] = [barrier]
    async with httpx2.AsyncClient(base_url=fake.url, timeout=5.0, event_hooks=hooks) as http:
        yield http


class Monitor:
    """Samples every candidate's is_leader() on a short period; remembers any overlap."""

    def __init__(self, candidates: list[Candidate], period: float = 0.003) -> None:
        self.candidates = candidates
        self.period = period
        self.overlaps: list[tuple[float, list[str]]] = []
        self.samples = 0
        self._task: asyncio.Task[None] | None = None

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            leading = [c.elector.identity for c in self.candidates if c.elector.is_leader()]
            self.samples += 1
            if len(leading) > 1:
                self.overlaps.append((loop.time(), leading))
            await asyncio.sleep(self.period)

    async def __aenter__(self) -> Monitor:
        self._task = asyncio.create_task(self._watch())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


async def stop(*candidates: Candidate) -> None:
    for c in candidates:
        if c.task is not None:
            c.task.cancel()
    tasks = [c.task for c in candidates if c.task is not None]
    await asyncio.gather(*tasks, return_exceptions=True)
