"""The live scheduler places pods where the brain says, on the same state, through the fake API."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from fakeapi import FakeApiServer
from live_helpers import create, fake_http, run
from scheduler_helpers import (
    NODES,
    PODS,
    a100_mig,
    assignment,
    events,
    gpu_pod,
    h100,
    l4_fractional,
    node_of,
    running,
    settle,
    t4_time_sliced,
    twin_state,
)

from gpuplane.objects import read_api_objects
from gpuplane.placement import Placement, Scheduler

MIXED = [h100("h100-a", 4), a100_mig("a100-mig"), t4_time_sliced("t4-ts"), l4_fractional("l4-frac")]
WHOLE = {"nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3"}
CORES = "nvidia.com/gpucores"
SLICED = {"nvidia.com/gpu.sharing-strategy": "time-slicing"}
PODS_IN_ORDER: list[tuple[str, dict[str, str], dict[str, str]]] = [
    ("whole-2", {"nvidia.com/gpu": "2"}, WHOLE),
    ("mig-a", {"nvidia.com/mig-1g.10gb": "1"}, {}),
    ("mig-b", {"nvidia.com/mig-1g.10gb": "2"}, {}),
    ("shared-a", {"nvidia.com/gpu": "1"}, SLICED),
    ("frac-a", {"nvidia.com/gpu": "1", "nvidia.com/gpumem": "4096"}, {}),
    ("frac-b", {"nvidia.com/gpu": "1", "nvidia.com/gpumem": "8000", CORES: "30"}, {}),
    ("whole-1", {"nvidia.com/gpu": "1"}, WHOLE),
    ("shared-b", {"nvidia.com/gpu": "1"}, SLICED),
]


def _bound(fake: FakeApiServer, name: str) -> bool:
    return node_of(fake, name) is not None


def test_every_kind_of_gpu_pod_lands_where_the_brain_says(fake: FakeApiServer) -> None:
    with fake_http(fake) as http:
        for node in MIXED:
            create(http, NODES, node)
    twin = Scheduler(twin_state(fake), "most-allocated")

    async def scenario() -> list[Placement]:
        expected: list[Placement] = []
        async with running(fake) as live:
            for name, limits, selector in PODS_IN_ORDER:
                obj = gpu_pod(name, limits, nodeSelector=selector)
                with fake_http(fake) as http:
                    create(http, PODS, obj)
                (pod,) = read_api_objects([obj | {"metadata": {**obj["metadata"]}}]).pods
                decision = twin.place(replace(pod, namespace="default"))
                assert isinstance(decision, Placement), decision
                expected.append(decision)
                await settle(lambda name=name: _bound(fake, name))  # type: ignore[misc]
            await settle(lambda: len(events(fake)) >= len(PODS_IN_ORDER))
            live.cache.state.check_invariants()
            assert sorted(live.bound) == sorted(f"default/{n}" for n, _, _ in PODS_IN_ORDER)
        return expected

    expected = run(scenario(), timeout=40)
    kinds = set()
    for (name, _, _), want in zip(PODS_IN_ORDER, expected, strict=True):
        got = assignment(fake, name)
        assert node_of(fake, name) == want.node == got.node, name
        assert (got.gpus, got.gpu_milli, got.gpu_memory_mib, got.devices) == (
            want.gpus,
            want.gpu_milli,
            want.gpu_memory_mib,
            want.devices,
        ), name
        kinds.add(want.node)
    assert kinds == {"h100-a", "a100-mig", "t4-ts", "l4-frac"}  # every sharing mode was used
    scheduled = [e for e in events(fake) if e["reason"] == "Scheduled"]
    assert {e["note"] for e in scheduled} == {
        f"Successfully assigned default/{n} to {node_of(fake, n)}" for n, _, _ in PODS_IN_ORDER
    }
    assert all(
        e["type"] == "Normal"
        and e["action"] == "Binding"
        and e["reportingController"] == "gpuplane"
        and e["regarding"]["uid"] == fake.objects("pods")[("default", e["regarding"]["name"])][
            "metadata"
        ]["uid"]
        for e in scheduled
    )


def test_pods_of_another_scheduler_count_as_used(fake: FakeApiServer) -> None:
    with fake_http(fake) as http:
        create(http, NODES, h100("h100-a", 2))
        create(http, NODES, h100("h100-b", 2))
        # kube-scheduler's pod on h100-a holds both its GPUs; running, so never ours to move.
        other = gpu_pod("theirs", {"nvidia.com/gpu": "2"}, scheduler="default-scheduler")
        create(http, PODS, other | {"spec": {**other["spec"], "nodeName": "h100-a"}})
        # gpuplane's pods would pack onto one node (most-allocated); h100-a is full.
        for name in ("mine-1", "mine-2"):
            create(http, PODS, gpu_pod(name, {"nvidia.com/gpu": "1"}))

    async def scenario() -> None:
        async with running(fake) as live:
            await settle(lambda: _bound(fake, "mine-1") and _bound(fake, "mine-2"))
            assert "default/theirs" in live.cache.held
            live.cache.state.check_invariants()
            with fake_http(fake) as http:  # the other scheduler's pod finishes: its GPUs free
                reply = http.delete(f"{PODS}/theirs")
                assert reply.status_code == 200
                create(http, PODS, gpu_pod("mine-3", {"nvidia.com/gpu": "2"}))
            await settle(lambda: _bound(fake, "mine-3"))
            assert "default/theirs" not in live.cache.held

    run(scenario(), timeout=40)
    assert {node_of(fake, n) for n in ("mine-1", "mine-2")} == {"h100-b"}
    assert node_of(fake, "mine-3") == "h100-a"


def test_a_pod_the_readers_refuse_gets_a_warning_and_is_not_scheduled(
    fake: FakeApiServer,
) -> None:
    bad: dict[str, Any] = gpu_pod("bad", {"nvidia.com/gpu": "1"})
    bad["metadata"]["annotations"] = {"gpuplane.io/duration": "forever"}
    with fake_http(fake) as http:
        create(http, NODES, h100("h100-a", 2))
        create(http, PODS, bad)
        create(http, PODS, gpu_pod("good", {"nvidia.com/gpu": "1"}))

    async def scenario() -> None:
        async with running(fake) as live:
            await settle(lambda: _bound(fake, "good"))
            await settle(lambda: len(events(fake, "bad")) == 1)
            assert "default/bad" not in live.queue

    run(scenario(), timeout=40)
    assert node_of(fake, "bad") is None
    (warning,) = events(fake, "bad")
    assert (warning["type"], warning["reason"]) == ("Warning", "FailedScheduling")
    assert "Pod default/bad" in warning["note"] and "gpuplane.io/duration" in warning["note"]
