"""The fake API server for the node agent's API tests (the same one tests/live uses)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
import pytest

from live.fakeapi import FakeApiServer


@pytest.fixture
def fake() -> Iterator[FakeApiServer]:
    with FakeApiServer(seed=11, bookmark_interval=0.05) as server:
        yield server
    assert server.errors == [], "the fake API server failed while serving"


@pytest.fixture
def http(fake: FakeApiServer) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=fake.url, timeout=5.0) as client:
        yield client
