"""A fractional node's agent: the Node's labels decide the split devices the kubelet counts.

The agent reads gpuplane.io/sharing and gpuplane.io/device-split-count from its Node before it
plans, advertises each GPU as that many devices (as HAMi does), hands every pod on a GPU its
own split device of that GPU, and asks to be restarted when those labels change.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest

from fake_kubelet import FakeKubelet
from gpuplane.errors import InputError
from gpuplane.node import NodeAgent
from gpuplane.objects.assignment import BIND_TIME_ANNOTATION, DeviceAssignment, encode_bind_time
from live.fakeapi import FakeApiServer
from node_helpers import A100, agent_with_api

NODE = "frac-node-1"
INVENTORY = f"node: {NODE}\ngpus:\n  - {{model: {A100}, count: 2}}\n"
MIG_INVENTORY = f"node: {NODE}\ngpus:\n  - {{model: {A100}, count: 2, mig: all-balanced}}\n"
FRACTIONAL = {"gpuplane.io/sharing": "fractional", "gpuplane.io/device-split-count": "3"}
PODS = "/api/v1/namespaces/default/pods"
GPU = "nvidia.com/gpu"
T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def agent_on(
    fake: FakeApiServer, tmp_path: Path, inventory: str = INVENTORY
) -> AbstractContextManager[tuple[NodeAgent, FakeKubelet]]:
    return agent_with_api(fake, tmp_path, NODE, inventory)


def node_object(labels: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": NODE, "labels": labels}}


def pod(name: str, assignment: DeviceAssignment, bound_at: datetime) -> dict[str, Any]:
    annotations = {
        "gpuplane.io/devices": assignment.encode(),
        BIND_TIME_ANNOTATION: encode_bind_time(bound_at),
    }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "annotations": annotations},
        "spec": {
            "schedulerName": "gpuplane",
            "nodeName": NODE,
            "containers": [{"name": "c", "image": "cuda", "resources": {"limits": {GPU: "1"}}}],
        },
    }


def create(http: httpx2.Client, path: str, obj: dict[str, Any]) -> None:
    reply = http.post(path, json=obj)
    assert reply.status_code == 201, reply.text


def eventually(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


def test_every_pod_on_a_fractional_gpu_gets_its_own_split_device(
    fake: FakeApiServer, http: httpx2.Client, tmp_path: Path
) -> None:
    create(http, "/api/v1/nodes", node_object(FRACTIONAL))
    # Three fractions of GPU 0 (its three split devices), then GPU 1 whole.
    assignments = [DeviceAssignment(NODE, (0,), (200,), (8192,)) for _ in range(3)]
    assignments.append(DeviceAssignment(NODE, (1,), (1000,), (81920,), ("gpu1",)))
    for i, assignment in enumerate(assignments):
        create(http, PODS, pod(f"p{i}", assignment, T0 + timedelta(seconds=i)))
    with agent_on(fake, tmp_path) as (agent, kubelet):
        assert agent.plan is not None
        assert agent.plan.advertised() == {GPU: 6}
        by_gpu = {
            g: [d.id for d in agent.plan.devices if d.gpu.index == g] for g in (0, 1)
        }
        plugin = kubelet.plugin(GPU)
        free = [d.id for d in agent.plan.devices]
        for i, assignment in enumerate(assignments):
            want = [next(x for x in by_gpu[assignment.gpus[0]] if x in free)]
            assert plugin.preferred(free, 1) == want, f"p{i}"
            envs = plugin.allocate(want).container_responses[0].envs
            gpu = agent.plan.inventory.gpus[assignment.gpus[0]].uuid
            assert envs["NVIDIA_VISIBLE_DEVICES"] == gpu
            free.remove(want[0])  # the kubelet hands a device out once
        assert not set(by_gpu[0]) & set(free)


def test_a_change_of_the_split_count_asks_the_agent_to_restart(
    fake: FakeApiServer, http: httpx2.Client, tmp_path: Path
) -> None:
    create(http, "/api/v1/nodes", node_object(FRACTIONAL))
    with agent_on(fake, tmp_path) as (agent, _):
        # The agent's own label patch (its GFD labels) does not count as a change.
        eventually(lambda: "nvidia.com/gpu.product" in labels_now(http))
        assert not agent.replan.is_set()
        patch = {"metadata": {"labels": {"gpuplane.io/device-split-count": "2"}}}
        reply = http.patch(
            f"/api/v1/nodes/{NODE}",
            content=json.dumps(patch),
            headers={"Content-Type": "application/merge-patch+json"},
        )
        assert reply.status_code == 200, reply.text
        eventually(agent.replan.is_set)


def test_fractional_labels_on_mig_gpus_refuse_to_start(
    fake: FakeApiServer, http: httpx2.Client, tmp_path: Path
) -> None:
    create(http, "/api/v1/nodes", node_object(FRACTIONAL))
    with pytest.raises(InputError, match=r"already shared \(mig\)"), agent_on(
        fake, tmp_path, MIG_INVENTORY
    ):
        pass


def labels_now(http: httpx2.Client) -> dict[str, str]:
    labels: dict[str, str] = http.get(f"/api/v1/nodes/{NODE}").json()["metadata"]["labels"]
    return labels
