"""Gangs through the fake API: all-or-nothing, and waiting below minMember."""

from __future__ import annotations

from fakeapi import FakeApiServer
from live_helpers import create, fake_http, run
from scheduler_helpers import (
    COSCHEDULING_GROUPS,
    NODES,
    PODS,
    VOLCANO_GROUPS,
    events,
    gpu_pod,
    h100,
    node_of,
    pod_group,
    register_pod_groups,
    running,
    settle,
)

from gpuplane.live.gangs import COSCHEDULING_LABEL
from gpuplane.objects import VOLCANO_GROUP_ANNOTATION


def bound(fake: FakeApiServer, names: list[str]) -> list[str | None]:
    return [node_of(fake, n) for n in names]


def test_a_gang_of_four_binds_all_or_nothing(fake: FakeApiServer) -> None:
    register_pod_groups(fake)
    members = [f"worker-{i}" for i in range(4)]
    with fake_http(fake) as http:
        create(http, NODES, h100("h100-a", 4))  # room for two of the four 2-GPU workers
        create(http, COSCHEDULING_GROUPS, pod_group("scheduling.x-k8s.io/v1alpha1", "train", 4))
        for name in members:
            labels = {COSCHEDULING_LABEL: "train"}
            create(http, PODS, gpu_pod(name, {"nvidia.com/gpu": "2"}, labels=labels))

    async def scenario() -> None:
        async with running(fake) as live:
            await settle(lambda: all(events(fake, n) for n in members))
            assert all(len(events(fake, n)) == 1 for n in members)
            assert bound(fake, members) == [None] * 4
            assert not live.cache.state.bindings  # the trial left nothing reserved
            with fake_http(fake) as http:
                create(http, NODES, h100("h100-b", 4))
            await settle(lambda: None not in bound(fake, members))
            live.cache.state.check_invariants()

    run(scenario(), timeout=40)
    assert sorted(bound(fake, members)) == ["h100-a"] * 2 + ["h100-b"] * 2  # type: ignore[type-var]
    warning = events(fake, "worker-0")[0]
    assert warning["reason"] == "FailedScheduling"
    assert warning["note"].startswith(
        "pod group default/train (minMember 4) cannot be placed whole"
    )
    assert "0/1 nodes are available: 1 Insufficient nvidia.com/gpu." in warning["note"]


def test_a_volcano_gang_below_min_member_waits(fake: FakeApiServer) -> None:
    register_pod_groups(fake)
    annotations = {VOLCANO_GROUP_ANNOTATION: "infer"}
    with fake_http(fake) as http:
        create(http, NODES, h100("h100-a", 8))
        create(http, VOLCANO_GROUPS, pod_group("scheduling.volcano.sh/v1beta1", "infer", 3))
        for name in ("infer-0", "infer-1"):
            create(http, PODS, gpu_pod(name, {"nvidia.com/gpu": "1"}, annotations=annotations))

    async def scenario() -> None:
        async with running(fake) as live:
            await settle(lambda: all(waited(fake, n) for n in ("infer-0", "infer-1")))
            await settle(lambda: live.queue.lengths()["unschedulable"] == 2)
            assert bound(fake, ["infer-0", "infer-1"]) == [None, None]
            third = gpu_pod("infer-2", {"nvidia.com/gpu": "1"}, annotations=annotations)
            with fake_http(fake) as http:
                create(http, PODS, third)
            await settle(lambda: None not in bound(fake, ["infer-0", "infer-1", "infer-2"]))

    run(scenario(), timeout=40)
    assert waited(fake, "infer-0") and waited(fake, "infer-1")


def waited(fake: FakeApiServer, pod: str) -> bool:
    wanted = (
        "pod group default/infer has 2 pods pending or bound, fewer than its minMember 3: "
        "waiting for more"
    )
    return any(e["note"] == wanted for e in events(fake, pod))
