"""A replica that is no longer leading when a binding is about to go out sends none."""

from __future__ import annotations

from fakeapi import FakeApiServer
from live_helpers import create, fake_http, run
from scheduler_helpers import NODES, PODS, gpu_pod, h100, node_of, running, settle


def test_no_bind_leaves_once_the_lease_is_lost_after_the_decision(fake: FakeApiServer) -> None:
    """Regression (two-replica fault run, killed leader): the lease was checked only before an
    earlier write, so the Binding could go out after it was lost. It is checked right before
    the Binding is sent: here the replica leads when it decides, and no longer when it binds."""
    with fake_http(fake) as http:
        create(http, NODES, h100("h100-a", 8))
        create(http, PODS, gpu_pod("late", {"nvidia.com/gpu": "1"}))
    asked: list[bool] = []

    def is_leader() -> bool:
        asked.append(not asked)  # leads at the first question only
        return asked[-1]

    async def scenario() -> None:
        async with running(fake, is_leader=is_leader) as live:
            await settle(lambda: len(asked) >= 2)
            await settle(lambda: not live._binding and "default/late" in live.queue.where)
            assert not live.cache.assumed and not live.cache.state.bindings

    run(scenario(), timeout=30)
    assert [e for e in fake.audit if e.subresource == "binding"] == []
    assert node_of(fake, "late") is None
