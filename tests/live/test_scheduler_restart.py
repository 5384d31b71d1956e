"""A restarted scheduler rebuilds the same state and binds nothing twice; a 409 books nothing."""

from __future__ import annotations

from typing import Any

import numpy as np
from fakeapi import FakeApiServer, Fault
from live_helpers import create, fake_http, run
from scheduler_helpers import (
    NODES,
    PODS,
    a100_mig,
    gpu_pod,
    h100,
    l4_fractional,
    node_of,
    running,
    settle,
    t4_time_sliced,
)

from gpuplane.cluster import ClusterState
from gpuplane.live.scheduler import LiveScheduler

ARRAYS = (
    "cpu_free",
    "mem_free",
    "pods_free",
    "gpu_free_milli",
    "gpu_free_mem",
    "gpu_free_split",
    "ext_free",
    "gpu_free_node",
    "gpu_idle_count",
)


def snapshot(state: ClusterState) -> dict[str, Any]:
    arrays = {name: getattr(state, name).copy() for name in ARRAYS}
    return {
        **arrays,
        "nodes": [n.name for n in state.nodes],
        "device_users": [dict(users) for users in state.device_users],
        "bindings": {
            k: (b.node, b.gpus, b.gpu_milli, b.gpu_memory_mib, b.devices)
            for k, b in state.bindings.items()
        },
    }


def same(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert a.keys() == b.keys()
    for key in a:
        if isinstance(a[key], np.ndarray):
            assert np.array_equal(a[key], b[key]), key
        else:
            assert a[key] == b[key], key


def binds(fake: FakeApiServer) -> list[str]:
    return [path for method, path in fake.requests if method == "POST" and "/binding" in path]


def held_all(live: LiveScheduler, n: int) -> bool:
    live.cache.sync()
    return len(live.cache.state.bindings) == n


def test_a_restarted_scheduler_rebuilds_the_same_state_and_binds_nothing_twice(
    fake: FakeApiServer,
) -> None:
    pods = [
        gpu_pod("whole", {"nvidia.com/gpu": "3"}, nodeSelector={"nvidia.com/gpu.count": "8"}),
        gpu_pod("mig", {"nvidia.com/mig-1g.10gb": "2"}),
        gpu_pod("frac", {"nvidia.com/gpu": "1", "nvidia.com/gpumem": "4096"}),
        gpu_pod("sliced", {"nvidia.com/gpu": "1"}, nodeSelector={"nvidia.com/gpu.replicas": "4"}),
    ]
    theirs = gpu_pod("theirs", {"nvidia.com/gpu": "2"}, scheduler="default-scheduler")
    theirs["spec"]["nodeName"] = "h100-a"
    with fake_http(fake) as http:
        for node in (h100("h100-a"), a100_mig("a100"), t4_time_sliced("t4"), l4_fractional("l4")):
            if node["metadata"]["name"] == "h100-a":
                node["metadata"]["labels"]["nvidia.com/gpu.count"] = "8"
            create(http, NODES, node)
        create(http, PODS, theirs)
        for pod in pods:
            create(http, PODS, pod)

    async def scenario() -> tuple[dict[str, Any], dict[str, Any], list[str]]:
        async with running(fake) as first:
            await settle(lambda: all(node_of(fake, p["metadata"]["name"]) for p in pods))
            await settle(lambda: held_all(first, 5))
            before = snapshot(first.cache.state)
        async with running(fake) as second:
            await settle(lambda: held_all(second, 5))
            after = snapshot(second.cache.state)
            with fake_http(fake) as http:
                create(http, PODS, gpu_pod("late", {"nvidia.com/gpu": "1"}))
            await settle(lambda: second.bound == ["default/late"])
            second.cache.state.check_invariants()
            return before, after, second.bound

    before, after, bound_by_second = run(scenario(), timeout=40)
    same(before, after)
    assert bound_by_second == ["default/late"]
    names = [p["metadata"]["name"] for p in pods] + ["late"]
    assert sorted(binds(fake)) == sorted(f"{PODS}/{n}/binding" for n in names)


def test_a_conflict_on_bind_books_nothing_twice(fake: FakeApiServer) -> None:
    with fake_http(fake) as http:
        create(http, NODES, h100("h100-a", 2))
        create(http, PODS, gpu_pod("p", {"nvidia.com/gpu": "2"}))
    fake.add_fault(Fault(verb="bind", action="status", plural="pods", code=409))

    async def scenario() -> None:
        async with running(fake) as live:
            await settle(lambda: live.bound == ["default/p"])
            await settle(lambda: held_all(live, 1) and not live.cache.assumed)
            state = live.cache.state
            state.check_invariants()
            assert int(state.gpu_free_milli.sum()) == 0  # two GPUs, held once
            assert list(state.bindings) == ["default/p"]

    run(scenario(), timeout=40)
    assert fake.faults.fired == [("bind", "pods", "status")]
    assert len(binds(fake)) == 2  # the refused one, then the retry
