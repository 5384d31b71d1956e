"""A reflector on the fake API server, a consumer that checks its events, and scripted changes."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx2
from fakeapi import FakeApiServer
from live_helpers import PODS, create, pod, run, wait_until

from gpuplane.live.kube import Kube, load_config
from gpuplane.live.reflector import EventType, Kind, ObjKey, Reflector, WatchEvent

__all__ = [
    "MERGE",
    "PODS_KIND",
    "Mirror",
    "Recorder",
    "act",
    "converged",
    "reflect",
    "run_step",
    "truth",
    "wait_until",
]

PODS_KIND = Kind("", "v1", "pods")
MERGE = {"Content-Type": "application/merge-patch+json"}


class Mirror:
    """A consumer that applies events in order and fails on any event that is lost or repeated."""

    def __init__(self) -> None:
        self.state: dict[ObjKey, str] = {}  # key -> resourceVersion
        self.events: list[WatchEvent] = []

    async def __call__(self, event: WatchEvent) -> None:
        self.events.append(event)
        rv = event.obj["metadata"]["resourceVersion"]
        if event.type is EventType.ADDED:
            assert event.key not in self.state, f"duplicate ADDED for {event.key}"
            self.state[event.key] = rv
        elif event.type is EventType.MODIFIED:
            assert self.state.get(event.key) not in (None, rv), (
                f"MODIFIED repeats or precedes {event.key}"
            )
            self.state[event.key] = rv
        else:
            assert event.key in self.state, f"DELETED for unknown {event.key}"
            del self.state[event.key]


def truth(fake: FakeApiServer, plural: str = "pods") -> dict[ObjKey, str]:
    return {key: obj["metadata"]["resourceVersion"] for key, obj in fake.objects(plural).items()}


class Recorder:
    """The injected sleep: records each delay and runs a hook (to act while the client is away)."""

    def __init__(self) -> None:
        self.delays: list[float] = []
        self.hooks: list[Callable[[], None]] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        if self.hooks:
            await asyncio.to_thread(self.hooks[0])
            self.hooks.pop(0)  # only now: tests wait for an empty list to know the hook is done
        await asyncio.sleep(0.001)


def reflect(
    fake: FakeApiServer,
    tmp_path: Path,
    scenario: Callable[[Reflector, Mirror], Awaitable[None]],
    kind: Kind = PODS_KIND,
    sleep: Recorder | None = None,
    seed: int = 3,
    page_size: int = 500,
) -> tuple[Reflector, Mirror]:
    """Run a reflector on the fake while `scenario` drives the server, then stop it."""
    kube = Kube.connect(load_config(fake.write_kubeconfig(tmp_path / "config")))
    mirror = Mirror()

    async def main() -> Reflector:
        reflector = Reflector(
            kube.http,
            kind,
            mirror,
            random.Random(seed),
            sleep=sleep or Recorder(),
            watch_timeout_s=30,
            page_size=page_size,
        )
        task = asyncio.create_task(reflector.run())
        try:
            await asyncio.wait_for(reflector.synced.wait(), 5)
            await scenario(reflector, mirror)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await kube.aclose()
        return reflector

    return run(main(), timeout=15), mirror


def converged(
    fake: FakeApiServer, mirror: Mirror, reflector: Reflector, plural: str = "pods"
) -> Callable[[], bool]:
    def check() -> bool:
        server = truth(fake, plural)
        return (
            mirror.state == server
            and {k: o["metadata"]["resourceVersion"] for k, o in reflector.store.items()} == server
        )

    return check


async def act(http: httpx2.Client, steps: list[tuple[str, str, Any]]) -> None:
    """Apply (verb, name, arg) steps from a worker thread, so the loop keeps serving reflectors."""

    def work() -> None:
        for verb, name, arg in steps:
            run_step(http, verb, name, arg)

    await asyncio.to_thread(work)


def run_step(http: httpx2.Client, verb: str, name: str, arg: Any) -> None:
    if verb == "create":
        create(http, PODS, pod(name, **(arg or {})))
    elif verb == "label":
        assert (
            http.patch(
                f"{PODS}/{name}", json={"metadata": {"labels": arg}}, headers=MERGE
            ).status_code
            == 200
        )
    elif verb == "delete":
        assert http.delete(f"{PODS}/{name}").status_code == 200
    elif verb == "bind":
        binding = {
            "apiVersion": "v1",
            "kind": "Binding",
            "metadata": {"name": name},
            "target": {"name": arg},
        }
        assert http.post(f"{PODS}/{name}/binding", json=binding).status_code == 201
