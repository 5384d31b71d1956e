"""Manifests and small waits shared by the live tests."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import httpx2
from fakeapi import FakeApiServer

T = TypeVar("T")
PODS = "/api/v1/namespaces/default/pods"


def fake_http(fake: FakeApiServer) -> httpx2.Client:
    """A plain HTTP client on the fake, for arranging state (the code under test uses its own)."""
    return httpx2.Client(base_url=fake.url, timeout=5.0)


def pod(
    name: str, *, labels: dict[str, str] | None = None, scheduler: str = "gpuplane", **spec: Any
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels or {}},
        "spec": {
            "schedulerName": scheduler,
            "containers": [{"name": "main", "image": "busybox"}],
            **spec,
        },
    }


def node(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": labels or {}}}


def create(http: httpx2.Client, path: str, obj: dict[str, Any]) -> dict[str, Any]:
    reply = http.post(path, json=obj)
    assert reply.status_code == 201, reply.text
    result: dict[str, Any] = reply.json()
    return result


def names(reply: httpx2.Response) -> list[str]:
    assert reply.status_code == 200, reply.text
    return sorted(item["metadata"]["name"] for item in reply.json()["items"])


def watch_lines(
    http: httpx2.Client, path: str, params: dict[str, str], limit: int
) -> Iterator[dict[str, Any]]:
    """Up to `limit` events of a watch (until the server ends or cuts the stream)."""
    with http.stream("GET", path, params={"watch": "true", **params}) as reply:
        assert reply.status_code == 200
        count = 0
        for line in reply.iter_lines():
            if line.strip():
                yield json.loads(line)
                count += 1
                if count >= limit:
                    return


def run(coro: Awaitable[T], timeout: float = 10.0) -> T:
    """Run a coroutine to completion on a fresh loop, failing instead of hanging."""

    async def bounded() -> T:
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(bounded())


async def wait_until(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)
