"""The hooks for operations (leader gate, metrics, readiness) and a gang healed after a 409."""

from __future__ import annotations

import asyncio

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


class Metrics:
    def __init__(self) -> None:
        self.attempts: list[tuple[str, float]] = []
        self.queues: dict[str, int] = {}
        self.scheduled: list[int] = []
        self.states: list[object] = []

    def attempt(self, result: str, duration_s: float) -> None:
        self.attempts.append((result, duration_s))

    def pending(self, queue: str, n: int) -> None:
        self.queues[queue] = n

    def pod_scheduled(self, attempts: int) -> None:
        self.scheduled.append(attempts)

    def watch_cluster(self, state: object) -> None:
        self.states.append(state)


def test_only_the_leader_binds_and_metrics_see_every_attempt(fake: FakeApiServer) -> None:
    with fake_http(fake) as http:
        create(http, NODES, h100("h100-a", 2))
        create(http, PODS, gpu_pod("fits", {"nvidia.com/gpu": "1"}))
        create(http, PODS, gpu_pod("too-big", {"nvidia.com/gpu": "4"}))
    leading = False
    metrics = Metrics()

    async def is_leader() -> bool:
        return leading

    async def scenario() -> None:
        nonlocal leading
        async with running(fake, is_leader=is_leader, metrics=metrics) as live:
            assert live.ready()
            await asyncio.sleep(0.2)
            assert node_of(fake, "fits") is None and metrics.attempts == []
            leading = True
            await settle(lambda: live.bound == ["default/fits"])
            await settle(lambda: metrics.queues.get("unschedulable") == 1)
            # The binding cycle runs in the background: its attempt is counted when it ends.
            await settle(lambda: {"scheduled", "unschedulable"} <= {r for r, _ in metrics.attempts})

    run(scenario(), timeout=40)
    results = sorted(result for result, _ in metrics.attempts)
    assert results[:2] == ["scheduled", "unschedulable"]
    assert all(duration >= 0 for _, duration in metrics.attempts)
    assert metrics.scheduled == [1]  # bound at its first attempt
    assert metrics.states and all(s is not None for s in metrics.states)  # GPU gauges fed


def test_a_gang_bound_partly_by_a_409_heals_when_the_rest_bind(fake: FakeApiServer) -> None:
    register_pod_groups(fake)
    members = [f"w-{i}" for i in range(4)]
    with fake_http(fake) as http:
        create(http, NODES, h100("h100-a", 4))
        create(http, COSCHEDULING_GROUPS, pod_group("scheduling.x-k8s.io/v1alpha1", "g", 4))
        labels = {COSCHEDULING_LABEL: "g"}
        for name in members:
            create(http, PODS, gpu_pod(name, {"nvidia.com/gpu": "1"}, labels=labels))
    # The third bind of the gang is refused: two members are bound, two go back to the queue.
    fake.add_fault(Fault(verb="bind", action="status", plural="pods", code=409, skip=2))

    async def scenario() -> None:
        async with running(fake) as live:
            await settle(lambda: len(live.bound) == 4)
            await settle(lambda: not live.cache.assumed)
            live.cache.sync()
            live.cache.state.check_invariants()
            assert int(live.cache.state.gpu_free_milli.sum()) == 0
            assert len(live.cache.state.bindings) == 4

    run(scenario(), timeout=40)
    assert fake.faults.fired == [("bind", "pods", "status")]
    assert [node_of(fake, n) for n in members] == ["h100-a"] * 4
