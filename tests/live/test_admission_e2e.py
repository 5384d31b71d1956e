"""The placement admission check end to end, against Kueue's protocol on the fake API server.

A fragmented cluster: two nodes of 8 H100s, each with 5 GPUs held by a pod that another
scheduler bound, so 6 GPUs are free in two pieces of 3. A gang Workload of 2 pods x 4 GPUs fits
the quota but cannot be placed: its check stays Pending with the brain's reason. A freed node
makes it Ready (the capacity is then held: a second such Workload and a 4-GPU pod both wait),
Kueue starts it, and the gpuplane scheduler binds its pods there. The controller and scheduler
are restarted in between: the promise is held again and no check is written twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx2
import pytest
from fakeapi import FakeApiServer
from kueue_crds import register_kueue
from kueue_helpers import CHECK, Kueue
from live_helpers import create, fake_http, run
from scheduler_helpers import NODES, PODS, gpu_pod, h100, node_of, register_pod_groups, settle

from gpuplane.live.admission import AdmissionCheckController
from gpuplane.live.scheduler import LiveScheduler


@contextlib.asynccontextmanager
async def controller(
    fake: FakeApiServer, version: str, **options: Any
) -> AsyncIterator[AdmissionCheckController]:
    """A LiveScheduler with the check controller on its cache, as `gpuplane admission-check`."""
    http = httpx2.AsyncClient(base_url=fake.url, timeout=5.0)
    live = LiveScheduler(
        http, initial_backoff_s=0.02, max_backoff_s=0.1, idle_wait_s=0.05, rng=random.Random(1)
    )
    check = AdmissionCheckController.for_scheduler(
        live, version=version, poll_s=0.05, rng=random.Random(2), **options
    )
    tasks = [asyncio.create_task(live.run()), asyncio.create_task(check.run())]
    try:
        await settle(check.ready)
        yield check
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await http.aclose()


def active(obj: dict[str, Any]) -> bool:
    conditions = (obj.get("status") or {}).get("conditions") or []
    return any(c["type"] == "Active" and c["status"] == "True" for c in conditions)


def filler(name: str, node: str, gpus: int) -> dict[str, Any]:
    limits = {"nvidia.com/gpu": str(gpus)}
    return gpu_pod(name, limits, scheduler="default-scheduler", nodeName=node)


def fragmented(fake: FakeApiServer, version: str) -> Kueue:
    register_kueue(fake, (version,))
    register_pod_groups(fake)
    http = fake_http(fake)
    for name in ("gpu-a", "gpu-b"):
        create(http, NODES, h100(name))
        create(http, PODS, filler(f"busy-{name}", name, 5))
    kueue = Kueue(http, version)
    kueue.install()
    return kueue


@pytest.mark.parametrize("version", ["v1beta1", "v1beta2"])
def test_a_gang_waits_for_placeable_capacity_and_its_promise_survives_a_restart(
    fake: FakeApiServer, version: str
) -> None:
    kueue = fragmented(fake, version)
    http = kueue.http

    def state(name: str) -> str:
        return str(kueue.check(name)["state"])

    async def scenario() -> None:
        async with controller(fake, version) as check:
            await settle(lambda: active(check.checks[CHECK]))
            kueue.submit("first", pods=2, gpus=4)
            kueue.reserve("first")
            await settle(lambda: "cannot all be placed" in kueue.check("first")["message"])
            message = kueue.check("first")["message"]
            assert state("first") == "Pending"
            assert "0/2 nodes are available" in message and "nvidia.com/gpu" in message

            http.delete(f"{PODS}/busy-gpu-a")  # 8 GPUs free on gpu-a: the gang fits there
            await settle(lambda: state("first") == "Ready")
            kueue.submit("second", pods=2, gpus=4)
            kueue.reserve("second")
            create(http, PODS, gpu_pod("sneaky", {"nvidia.com/gpu": "4"}))
            await asyncio.sleep(0.5)
            assert state("second") == "Pending"  # the capacity is promised to "first"
            assert node_of(fake, "sneaky") is None
            ready_since = kueue.check("first")["lastTransitionTime"]
            written = list(check.written)
        assert written.count(("default/first", CHECK, "Ready")) == 1

        async with controller(fake, version) as again:
            await settle(lambda: "default/first" in again.book.promises)
            assert len(again.book.outstanding("default/first")) == 2
            await asyncio.sleep(0.5)
            assert state("second") == "Pending"
            pods = kueue.admit_and_start("first")
            await settle(lambda: all(node_of(fake, p) == "gpu-a" for p in pods))
            assert again.book.outstanding("default/first") == []
            assert kueue.check("first")["lastTransitionTime"] == ready_since
            assert not any(w[0] == "default/first" for w in again.written)
            assert state("second") == "Pending" and node_of(fake, "sneaky") is None

            http.delete(f"{PODS}/sneaky")  # else it would take half of gpu-b once freed
            http.delete(f"{PODS}/busy-gpu-b")
            await settle(lambda: state("second") == "Ready")
            assert sorted(set(again.book.nodes("default/second")["workers"])) == ["gpu-b"]
        assert fake.errors == []

    run(scenario(), 60)


def test_a_check_is_set_to_retry_after_the_wait_and_pending_again_once_requeued(
    fake: FakeApiServer,
) -> None:
    kueue = fragmented(fake, "v1beta2")

    async def scenario() -> None:
        async with controller(fake, "v1beta2", retry_after_s=0.0) as check:
            kueue.submit("big", pods=2, gpus=4)
            kueue.reserve("big")
            await settle(lambda: kueue.check("big")["state"] == "Retry")
            assert "quota given back" in kueue.check("big")["message"]
            kueue.requeue("big")
            await asyncio.sleep(0.2)
            assert check.book.promises == {}
            assert [w[2] for w in check.written] == ["Retry"]

    run(scenario(), 30)


def test_a_promise_not_taken_in_time_is_let_go(fake: FakeApiServer) -> None:
    kueue = fragmented(fake, "v1beta2")
    http = kueue.http

    async def scenario() -> None:
        http.delete(f"{PODS}/busy-gpu-a")
        async with controller(fake, "v1beta2", promise_timeout_s=0.5) as check:
            kueue.submit("late", pods=1, gpus=8)
            kueue.reserve("late")
            await settle(lambda: kueue.check("late")["state"] == "Ready")
            assert check.book.outstanding("default/late")
            create(http, PODS, gpu_pod("later", {"nvidia.com/gpu": "8"}))
            await settle(lambda: node_of(fake, "later") == "gpu-a")  # after the timeout
            assert check.book.outstanding("default/late") == []
            since = datetime.fromisoformat(kueue.check("late")["lastTransitionTime"])
            assert since <= datetime.now(UTC)

    run(scenario(), 30)
