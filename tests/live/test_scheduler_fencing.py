"""A replica that loses its lease while a pod's annotation patch is out sends no binding."""

from __future__ import annotations

from fakeapi import FakeApiServer
from live_helpers import create, fake_http, run
from scheduler_helpers import NODES, PODS, gpu_pod, h100, node_of, running, settle


def test_no_bind_leaves_once_the_lease_is_lost_during_the_patch(fake: FakeApiServer) -> None:
    """Regression: the lease was checked only before the patch, so the Binding went out after
    the lease was lost (found by the two-replica fault run, with a killed leader)."""
    with fake_http(fake) as http:
        create(http, NODES, h100("h100-a", 8))
        create(http, PODS, gpu_pod("late", {"nvidia.com/gpu": "1"}))

    def patched() -> bool:
        return any(e.verb == "patch" and e.resource == "pods" for e in list(fake.audit))

    async def scenario() -> None:
        # Leads until the annotation patch has reached the server: lost while it was out.
        async with running(fake, is_leader=lambda: not patched()) as live:
            await settle(patched)
            await settle(lambda: not live._binding and "default/late" in live.queue.where)
            assert not live.cache.assumed and not live.cache.state.bindings

    run(scenario(), timeout=30)
    assert [e for e in fake.audit if e.subresource == "binding"] == []
    assert node_of(fake, "late") is None
