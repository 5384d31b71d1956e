"""A gang whose bind fails after a member is bound keeps its place and heals (regression)."""

from __future__ import annotations

from fakeapi import FakeApiServer, Fault
from live_helpers import create, fake_http, run
from scheduler_helpers import (
    COSCHEDULING_GROUPS,
    NODES,
    PODS,
    gpu_pod,
    h100,
    node_of,
    pod_group,
    register_pod_groups,
    running,
    settle,
)

from gpuplane.live.gangs import COSCHEDULING_LABEL


def test_a_member_that_fails_to_bind_keeps_its_place_for_its_gang(fake: FakeApiServer) -> None:
    """Before the fix the failed member let go of its GPUs, a waiting pod took them, and the gang
    stayed half bound for good: nothing was left to free them."""
    register_pod_groups(fake)
    members = ["train-0", "train-1"]
    # train-1's bind fails three times (the gang-less pod arrives meanwhile); the fourth works.
    fake.add_fault(Fault("bind", "status", plural="pods", code=500, skip=1, times=3))
    with fake_http(fake) as http:
        create(http, NODES, h100("h100-a", 2))  # room for the gang, or for the gang-less pod
        create(http, COSCHEDULING_GROUPS, pod_group("scheduling.x-k8s.io/v1alpha1", "train", 2))
        for name in members:
            labels = {COSCHEDULING_LABEL: "train"}
            create(http, PODS, gpu_pod(name, {"nvidia.com/gpu": "1"}, labels=labels))

    async def scenario() -> None:
        async with running(fake) as live:
            await settle(lambda: node_of(fake, "train-0") is not None)
            with fake_http(fake) as http:
                create(http, PODS, gpu_pod("eager", {"nvidia.com/gpu": "1"}))
            await settle(lambda: fake.faults.pending() == 0)
            await settle(lambda: node_of(fake, "train-1") is not None, timeout=5.0)
            await settle(lambda: "default/eager" in live.queue.pods and not live._binding)
            live.cache.state.check_invariants()

    run(scenario(), timeout=30)
    assert node_of(fake, "eager") is None
