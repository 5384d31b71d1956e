"""An unschedulable pod: kube-scheduler's event and condition, then bound when a node arrives."""

from __future__ import annotations

from fakeapi import FakeApiServer
from live_helpers import create, fake_http, run
from scheduler_helpers import NODES, PODS, events, gpu_pod, h100, node_of, pod_obj, running, settle


def test_unschedulable_pod_gets_kube_wording_then_binds_when_a_node_is_added(
    fake: FakeApiServer,
) -> None:
    with fake_http(fake) as http:
        create(http, NODES, h100("small", 2))
        create(http, PODS, gpu_pod("big", {"nvidia.com/gpu": "4"}))

    def condition() -> dict[str, str] | None:
        conditions = pod_obj(fake, "big").get("status", {}).get("conditions", [])
        return next((c for c in conditions if c["type"] == "PodScheduled"), None)

    async def scenario() -> None:
        async with running(fake) as live:
            await settle(lambda: condition() is not None)
            assert live.queue.lengths()["unschedulable"] == 1
            with fake_http(fake) as http:
                create(http, NODES, h100("large", 8))
            await settle(lambda: node_of(fake, "big") is not None)
            await settle(lambda: len(events(fake, "big")) == 2)

    run(scenario(), timeout=40)
    assert node_of(fake, "big") == "large"
    failed, scheduled = events(fake, "big")
    message = "0/1 nodes are available: 1 Insufficient nvidia.com/gpu."
    assert (failed["type"], failed["reason"], failed["action"], failed["note"]) == (
        "Warning",
        "FailedScheduling",
        "Scheduling",
        message,
    )
    assert (scheduled["type"], scheduled["reason"], scheduled["note"]) == (
        "Normal",
        "Scheduled",
        "Successfully assigned default/big to large",
    )
    # The binding set PodScheduled=True; before it the scheduler had written False (seen above).
    final = condition()
    assert final is not None and final["status"] == "True"


def test_the_condition_says_unschedulable_with_the_fit_error(fake: FakeApiServer) -> None:
    with fake_http(fake) as http:
        create(http, NODES, h100("small", 2))
        create(http, PODS, gpu_pod("big", {"nvidia.com/gpu": "4"}))

    async def scenario() -> None:
        async with running(fake):
            await settle(lambda: bool(pod_obj(fake, "big").get("status", {}).get("conditions")))

    run(scenario(), timeout=40)
    (cond,) = pod_obj(fake, "big")["status"]["conditions"]
    assert cond["type"] == "PodScheduled" and cond["status"] == "False"
    assert cond["reason"] == "Unschedulable"
    assert cond["message"] == "0/1 nodes are available: 1 Insufficient nvidia.com/gpu."
    assert cond["lastTransitionTime"]
