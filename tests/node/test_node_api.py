"""The node agent with API access: the scheduler's devices reach the kubelet; the Node's labels.

Through the fake API server (tests/live/fakeapi) and the fake kubelet, with the fake backend.
Every pod is annotated as the scheduler annotates it, with `DeviceAssignment(...).encode()`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import httpx2
import pytest

from fake_kubelet import FakeKubelet
from gpuplane.node import FakeBackend, NodeAgent, NodePlan
from gpuplane.node.apiserver import OWNED_LABELS_ANNOTATION
from gpuplane.node.labels import node_labels
from gpuplane.objects.assignment import (
    ALLOCATED,
    ALLOCATED_ANNOTATION,
    BIND_TIME_ANNOTATION,
    DEVICES_ANNOTATION,
    DeviceAssignment,
    encode_bind_time,
)
from live.fakeapi import FakeApiServer
from node_helpers import A100, agent_with_api, plan

NODE = "gpu-node-1"
#: Two MIG GPUs (mixed strategy) and three whole GPUs; TIME_SLICED shares the whole ones in 2
#: replicas instead (the device plugin shares every non-MIG GPU of a node alike: it ignores a
#: sharing config's `devices`).
INVENTORY = f"""
node: {NODE}
gpus:
  - {{model: {A100}, count: 2, numaNode: 0, mig: all-balanced}}
  - {{model: {A100}, count: 3, numaNode: 1}}
"""
CONFIG = "version: v1\nflags: {migStrategy: mixed}\n"
TIME_SLICED = """
version: v1
flags: {migStrategy: mixed}
sharing:
  timeSlicing:
    renameByDefault: true
    resources: [{name: nvidia.com/gpu, replicas: 2}]
"""
NO_MIG = "version: v1\nflags: {migStrategy: none}\n"
PODS = "/api/v1/namespaces/default/pods"
T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


@pytest.fixture
def node_plan() -> NodePlan:
    return plan(INVENTORY, CONFIG)


def agent_on(
    fake: FakeApiServer, tmp_path: Path, config: str | None = CONFIG
) -> AbstractContextManager[tuple[NodeAgent, FakeKubelet]]:
    return agent_with_api(fake, tmp_path, NODE, INVENTORY, config)


def ids_of(node_plan: NodePlan, *brain: str) -> list[str]:
    """The kubelet device ids of brain device ids."""
    table = {d.device.id: d.id for d in node_plan.devices}
    return [table[b] for b in brain]


def resource_ids(node_plan: NodePlan, resource: str) -> list[str]:
    return [d.id for d in node_plan.devices if d.resource == resource]


def mig_ids(node_plan: NodePlan, profile: str) -> list[str]:
    """Brain ids of the node's MIG devices of one profile."""
    return [d.device.id for d in node_plan.devices if d.device.mig_profile == profile]


def gpu_pod(
    name: str,
    limits: dict[str, str],
    assignment: DeviceAssignment | None,
    bound_at: datetime | None = None,
    containers: int = 1,
) -> dict[str, Any]:
    annotations = {}
    if assignment is not None:
        annotations[DEVICES_ANNOTATION] = assignment.encode()
    if bound_at is not None:
        annotations[BIND_TIME_ANNOTATION] = encode_bind_time(bound_at)
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "annotations": annotations},
        "spec": {
            "schedulerName": "gpuplane",
            "nodeName": NODE,
            "containers": [
                {"name": f"c{i}", "image": "cuda", "resources": {"limits": limits}}
                for i in range(containers)
            ],
        },
    }


def create(http: httpx2.Client, obj: dict[str, Any], path: str = PODS) -> None:
    reply = http.post(path, json=obj)
    assert reply.status_code == 201, reply.text


def eventually(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


def allocated(http: httpx2.Client, name: str) -> bool:
    annotations = http.get(f"{PODS}/{name}").json()["metadata"].get("annotations") or {}
    return bool(annotations.get(ALLOCATED_ANNOTATION) == ALLOCATED)


def whole(node: str, *gpus: int) -> DeviceAssignment:
    return DeviceAssignment(
        node, gpus, (1000,) * len(gpus), (81920,) * len(gpus), tuple(f"gpu{g}" for g in gpus)
    )


def test_each_kind_of_pod_gets_exactly_the_schedulers_devices(
    fake: FakeApiServer, http: httpx2.Client, tmp_path: Path, node_plan: NodePlan
) -> None:
    mig = mig_ids(node_plan, "1g.10gb")[-1]  # not the plugin's own first choice
    pods = {
        "whole": (
            {"nvidia.com/gpu": "1"},
            whole(NODE, 3),
            ["gpu3"],
        ),
        "mig": (
            {"nvidia.com/mig-1g.10gb": "1"},
            DeviceAssignment(NODE, (1,), (142,), (9728,), (mig,)),
            [mig],
        ),
    }
    for i, (name, (limits, assignment, _)) in enumerate(pods.items()):
        create(http, gpu_pod(name, limits, assignment, T0 + timedelta(seconds=i)))
    with agent_on(fake, tmp_path) as (_, kubelet):
        for name, (limits, _, brain) in pods.items():
            (resource,) = limits
            plugin = kubelet.plugin(resource)
            want = ids_of(node_plan, *brain)
            assert plugin.preferred(resource_ids(node_plan, resource), 1) == want, name
            response = plugin.allocate(want)
            uuid = node_plan.devices[[d.id for d in node_plan.devices].index(want[0])].uuid
            assert response.container_responses[0].envs["NVIDIA_VISIBLE_DEVICES"] == uuid
            eventually(lambda name=name: allocated(http, name))  # type: ignore[misc]


def test_a_time_sliced_replica_gets_exactly_the_schedulers_replica(
    fake: FakeApiServer, http: httpx2.Client, tmp_path: Path
) -> None:
    sliced = plan(INVENTORY, TIME_SLICED)
    resource = "nvidia.com/gpu.shared"
    assignment = DeviceAssignment(NODE, (4,), (500,), (40960,), ("gpu4::1",))
    create(http, gpu_pod("replica", {resource: "1"}, assignment, T0))
    with agent_on(fake, tmp_path, TIME_SLICED) as (_, kubelet):
        plugin = kubelet.plugin(resource)
        want = ids_of(sliced, "gpu4::1")
        assert plugin.preferred(resource_ids(sliced, resource), 1) == want
        plugin.allocate(want)
        eventually(lambda: allocated(http, "replica"))


def test_a_fraction_gets_its_gpu_and_the_share_as_environment(
    fake: FakeApiServer, http: httpx2.Client, tmp_path: Path, node_plan: NodePlan
) -> None:
    share = DeviceAssignment(NODE, (3,), (300,), (8192,))  # no devices: a fraction of GPU 3
    limits = {"nvidia.com/gpu": "1", "nvidia.com/gpumem": "8192", "nvidia.com/gpucores": "30"}
    create(http, gpu_pod("frac", limits, share, T0))
    with agent_on(fake, tmp_path) as (_, kubelet):
        plugin = kubelet.plugin("nvidia.com/gpu")
        want = ids_of(node_plan, "gpu3")
        assert plugin.preferred(resource_ids(node_plan, "nvidia.com/gpu"), 1) == want
        envs = plugin.allocate(want).container_responses[0].envs
        assert envs["NVIDIA_VISIBLE_DEVICES"] == want[0]
        assert envs["CUDA_DEVICE_MEMORY_LIMIT_0"] == "8192m"
        assert envs["CUDA_DEVICE_SM_LIMIT"] == "30"
        assert envs["GPUPLANE_GPU_MILLI"] == "300"
        assert envs["GPUPLANE_GPU_MEMORY_MIB"] == "8192"
        eventually(lambda: allocated(http, "frac"))


def test_a_mismatching_allocate_is_refused_naming_the_pod(
    fake: FakeApiServer, http: httpx2.Client, tmp_path: Path, node_plan: NodePlan
) -> None:
    create(http, gpu_pod("picky", {"nvidia.com/gpu": "1"}, whole(NODE, 2), T0))
    with agent_on(fake, tmp_path) as (_, kubelet):
        plugin = kubelet.plugin("nvidia.com/gpu")
        with pytest.raises(grpc.RpcError) as err:
            plugin.allocate(ids_of(node_plan, "gpu3"))
        assert err.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        message = str(err.value.details())
        assert "default/picky" in message and "gpu2" in message
        assert "not assigned: [" + ids_of(node_plan, "gpu3")[0] in message
        # The scheduler's own device taken by another container: refused as unavailable.
        with pytest.raises(grpc.RpcError) as err:
            plugin.preferred(ids_of(node_plan, "gpu3"), 1)
        assert "default/picky" in str(err.value.details())
        assert "not all available" in str(err.value.details())
        # The refusals left the pod pending: its own devices still serve it.
        plugin.allocate(ids_of(node_plan, "gpu2"))
        eventually(lambda: allocated(http, "picky"))


def test_two_pods_with_the_same_request_get_their_own_devices_oldest_first(
    fake: FakeApiServer, http: httpx2.Client, tmp_path: Path, node_plan: NodePlan
) -> None:
    first, second = mig_ids(node_plan, "1g.10gb")[:2]
    resource = "nvidia.com/mig-1g.10gb"
    limits = {resource: "1"}
    with agent_on(fake, tmp_path) as (agent, kubelet):
        plugin = kubelet.plugin(resource)
        # Created after the agent started, the younger binding first: the watch brings both.
        for name, device, at in (("young", second, T0 + timedelta(seconds=5)), ("old", first, T0)):
            assignment = DeviceAssignment(NODE, (0,), (142,), (9728,), (device,))
            create(http, gpu_pod(name, limits, assignment, at))
        assert agent.api is not None
        book = agent.api.book
        eventually(lambda: len(book.pending(resource)) == 2)
        everything = resource_ids(node_plan, resource)
        assert plugin.preferred(everything, 1) == ids_of(node_plan, first)
        plugin.allocate(ids_of(node_plan, first))
        eventually(lambda: allocated(http, "old"))
        left = [i for i in everything if i not in ids_of(node_plan, first)]
        assert plugin.preferred(left, 1) == ids_of(node_plan, second)
        plugin.allocate(ids_of(node_plan, second))
        eventually(lambda: allocated(http, "young"))
        # Both are served: a third request of the shape matches no pod, and gets today's answer.
        assert book.pending(resource) == []


def test_containers_are_served_in_order_and_the_pod_marked_after_the_last(
    fake: FakeApiServer, http: httpx2.Client, tmp_path: Path, node_plan: NodePlan
) -> None:
    create(http, gpu_pod("pair", {"nvidia.com/gpu": "1"}, whole(NODE, 3, 2), T0, containers=2))
    with agent_on(fake, tmp_path) as (_, kubelet):
        plugin = kubelet.plugin("nvidia.com/gpu")
        everything = resource_ids(node_plan, "nvidia.com/gpu")
        assert plugin.preferred(everything, 1) == ids_of(node_plan, "gpu3")
        plugin.allocate(ids_of(node_plan, "gpu3"))
        assert not allocated(http, "pair")
        assert plugin.preferred(everything, 1) == ids_of(node_plan, "gpu2")
        plugin.allocate(ids_of(node_plan, "gpu2"))
        eventually(lambda: allocated(http, "pair"))


def test_a_pod_of_another_scheduler_gets_the_plugins_own_answer(
    fake: FakeApiServer, http: httpx2.Client, tmp_path: Path, node_plan: NodePlan
) -> None:
    create(http, gpu_pod("default-scheduled", {"nvidia.com/gpu": "1"}, None))
    with agent_on(fake, tmp_path) as (_, kubelet):
        plugin = kubelet.plugin("nvidia.com/gpu")
        start = time.monotonic()
        assert plugin.preferred(resource_ids(node_plan, "nvidia.com/gpu"), 1) == ids_of(
            node_plan, "gpu2"
        )
        assert time.monotonic() - start < 0.25  # no wait for an assignment that will not come
        plugin.allocate(ids_of(node_plan, "gpu3"))
        assert not allocated(http, "default-scheduled")


def node_labels_now(http: httpx2.Client) -> tuple[dict[str, str], dict[str, str]]:
    meta = http.get(f"/api/v1/nodes/{NODE}").json()["metadata"]
    return meta.get("labels") or {}, meta.get("annotations") or {}


def test_the_agent_keeps_its_labels_on_its_node_and_removes_its_stale_ones(
    fake: FakeApiServer, http: httpx2.Client, tmp_path: Path, node_plan: NodePlan
) -> None:
    others = {"kubernetes.io/hostname": NODE, "nvidia.com/set-by-someone-else": "yes"}
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": NODE, "labels": others}}
    create(http, node, "/api/v1/nodes")
    with agent_on(fake, tmp_path) as _:
        want = node_labels(node_plan)
        eventually(lambda: node_labels_now(http)[0] == others | want)
        assert "nvidia.com/gpu.replicas" in want
        owned = node_labels_now(http)[1][OWNED_LABELS_ANNOTATION].split(",")
        assert owned == sorted(want)
        # Someone removes one of the agent's labels: the agent puts it back.
        patch = {"metadata": {"labels": {"nvidia.com/gpu.product": None}}}
        reply = http.patch(
            f"/api/v1/nodes/{NODE}",
            content=json.dumps(patch),
            headers={"Content-Type": "application/merge-patch+json"},
        )
        assert reply.status_code == 200, reply.text
        eventually(lambda: node_labels_now(http)[0] == others | want)
    # Restarted with MIG devices not served: the MIG labels it wrote no longer apply and go;
    # the labels of others stay.
    with agent_on(fake, tmp_path, config=NO_MIG) as _:
        now = node_labels(plan(INVENTORY, NO_MIG))
        assert "nvidia.com/mig-1g.10gb.count" in set(want) - set(now)
        eventually(lambda: node_labels_now(http)[0] == others | now)
        assert node_labels_now(http)[1][OWNED_LABELS_ANNOTATION].split(",") == sorted(now)


def test_an_allocate_of_the_schedulers_device_gone_unhealthy_is_refused(
    fake: FakeApiServer, http: httpx2.Client, tmp_path: Path, node_plan: NodePlan
) -> None:
    create(http, gpu_pod("unlucky", {"nvidia.com/gpu": "1"}, whole(NODE, 2), T0))
    with agent_on(fake, tmp_path) as (agent, kubelet):
        plugin = kubelet.plugin("nvidia.com/gpu")
        (gpu2,) = ids_of(node_plan, "gpu2")
        assert isinstance(agent.backend, FakeBackend)
        agent.backend.inject(2, xid=79)
        plugin.wait_for(lambda devices: devices.get(gpu2) == "Unhealthy")
        with pytest.raises(grpc.RpcError) as err:
            plugin.allocate([gpu2])
        assert err.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert f"pod default/unlucky container c0: assigned device(s) [{gpu2}] are unhealthy" in (
            str(err.value.details())
        )
        assert not allocated(http, "unlucky")
