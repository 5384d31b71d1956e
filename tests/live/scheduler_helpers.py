"""Nodes as GFD labels them, GPU pods, and a LiveScheduler running against the fake API server."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx2
from fakeapi import FakeApiServer
from live_helpers import wait_until

from gpuplane.cluster import ClusterState
from gpuplane.live.scheduler import LiveScheduler
from gpuplane.objects import read_api_objects
from gpuplane.objects.assignment import DEVICES_ANNOTATION, DeviceAssignment, decode_assignment

NODES = "/api/v1/nodes"
PODS = "/api/v1/namespaces/default/pods"
EVENTS = "/apis/events.k8s.io/v1/namespaces/default/events"
COSCHEDULING_GROUPS = "/apis/scheduling.x-k8s.io/v1alpha1/namespaces/default/podgroups"
VOLCANO_GROUPS = "/apis/scheduling.volcano.sh/v1beta1/namespaces/default/podgroups"


def pod_group(api: str, name: str, min_member: int) -> dict[str, Any]:
    return {
        "apiVersion": api,
        "kind": "PodGroup",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"minMember": min_member},
    }


async def settle(check: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait for a condition, with room for a loaded machine (2 cores shared by several suites)."""
    await wait_until(check, timeout)


def gpu_node(name: str, labels: dict[str, str], allocatable: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": labels},
        "status": {
            "allocatable": {"cpu": "64", "memory": "512Gi", "pods": "110", **allocatable},
            "capacity": {"cpu": "64", "memory": "512Gi", "pods": "110", **allocatable},
        },
    }


def h100(name: str, gpus: int = 8) -> dict[str, Any]:
    labels = {"nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3", "nvidia.com/gpu.memory": "81559"}
    return gpu_node(name, labels, {"nvidia.com/gpu": str(gpus)})


def a100_mig(name: str) -> dict[str, Any]:
    """Two A100 80GB in MIG mixed, all-1g.10gb: GFD's labels and the device plugin's resources."""
    labels = {
        "nvidia.com/gpu.product": "NVIDIA-A100-SXM4-80GB",
        "nvidia.com/gpu.memory": "81920",
        "nvidia.com/gpu.count": "2",
        "nvidia.com/mig.strategy": "mixed",
        "nvidia.com/mig-1g.10gb.count": "14",
    }
    return gpu_node(name, labels, {"nvidia.com/mig-1g.10gb": "14"})


def t4_time_sliced(name: str) -> dict[str, Any]:
    labels = {
        "nvidia.com/gpu.product": "Tesla-T4-SHARED",
        "nvidia.com/gpu.memory": "15360",
        "nvidia.com/gpu.count": "2",
        "nvidia.com/gpu.sharing-strategy": "time-slicing",
        "nvidia.com/gpu.replicas": "4",
    }
    return gpu_node(name, labels, {"nvidia.com/gpu": "8"})


def l4_fractional(name: str) -> dict[str, Any]:
    labels = {
        "nvidia.com/gpu.product": "NVIDIA-L4",
        "nvidia.com/gpu.memory": "23034",
        "nvidia.com/gpu.count": "2",
        "gpuplane.io/sharing": "fractional",
    }
    return gpu_node(name, labels, {"nvidia.com/gpu": "2"})


def gpu_pod(
    name: str,
    limits: dict[str, str] | None = None,
    *,
    scheduler: str = "gpuplane",
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    **spec: Any,
) -> dict[str, Any]:
    resources = {"requests": {"cpu": "1"}, "limits": limits or {}}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels or {}, "annotations": annotations or {}},
        "spec": {
            "schedulerName": scheduler,
            "containers": [{"name": "main", "image": "busybox", "resources": resources}],
            **spec,
        },
    }


def twin_state(fake: FakeApiServer) -> ClusterState:
    """The fake's Nodes as the brain reads them, in the scheduler's (name) order."""
    nodes = [obj for _, obj in sorted(fake.objects("nodes").items())]
    return ClusterState(read_api_objects(nodes).nodes)


def pod_obj(fake: FakeApiServer, name: str) -> dict[str, Any]:
    return fake.objects("pods")[("default", name)]


def node_of(fake: FakeApiServer, name: str) -> str | None:
    node: str | None = pod_obj(fake, name)["spec"].get("nodeName")
    return node


def assignment(fake: FakeApiServer, name: str) -> DeviceAssignment:
    return decode_assignment(pod_obj(fake, name)["metadata"]["annotations"][DEVICES_ANNOTATION])


def events(fake: FakeApiServer, pod: str | None = None) -> list[dict[str, Any]]:
    found = [
        e
        for (_, _), e in fake.objects("events", "events.k8s.io", "v1").items()
        if pod is None or e["regarding"]["name"] == pod
    ]
    return sorted(found, key=lambda e: e["eventTime"])


def register_pod_groups(fake: FakeApiServer) -> None:
    fake.register_crd("scheduling.x-k8s.io", "v1alpha1", "podgroups", "PodGroup")
    fake.register_crd("scheduling.volcano.sh", "v1beta1", "podgroups", "PodGroup")


@contextlib.asynccontextmanager
async def running(fake: FakeApiServer, **options: Any) -> AsyncIterator[LiveScheduler]:
    """A LiveScheduler on the fake with short backoffs, synced; stopped on exit."""
    http = httpx2.AsyncClient(base_url=fake.url, timeout=5.0)
    settings: dict[str, Any] = {
        "initial_backoff_s": 0.02,
        "max_backoff_s": 0.1,
        "idle_wait_s": 0.05,
        "rng": random.Random(3),
    }
    live = LiveScheduler(http, **(settings | options))
    task = asyncio.create_task(live.run())
    try:
        await settle(live.ready)
        yield live
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await http.aclose()
        if task.done() and not task.cancelled() and task.exception() is not None:
            raise AssertionError("the scheduler stopped") from task.exception()
