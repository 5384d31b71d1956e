"""A small GPU cluster on the fake API server: node agents (fake backend, fake kubelet) per node.

Each node's Node object starts with only its allocatable (what the device plugin advertises for
that node's inventory and config) and the labels an administrator would set; its GFD labels
are the node agent's to write, as on a real cluster. The tests wait for them (`labelled`)
before the scheduler, and the twin, read the Nodes.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
from fakeapi import FakeApiServer

from fake_kubelet import FakeKubelet, PluginConnection
from gpuplane.live.kube import load_config
from gpuplane.node import AgentOptions, FakeBackend, NodeAgent, NodePlan, parse_config, plan_node
from gpuplane.node.apiserver import ApiAccess
from gpuplane.node.labels import node_labels
from gpuplane.objects.assignment import (
    BIND_TIME_ANNOTATION,
    DEVICES_ANNOTATION,
    DeviceAssignment,
    decode_assignment,
    decode_bind_time,
)
from gpuplane.sharing import fractional_from_labels

H100 = "NVIDIA-H100-80GB-HBM3"
A100 = "NVIDIA-A100-SXM4-80GB"
L4 = "NVIDIA-L4"
MIXED_MIG = "version: v1\nflags: {migStrategy: mixed}\n"
TIME_SLICED_4 = """
version: v1
sharing:
  timeSlicing:
    resources: [{name: nvidia.com/gpu, replicas: 4}]
"""
#: gpuplane's own label for fractional GPUs: an administrator's, not GFD's (the agent keeps it).
FRACTIONAL = {"gpuplane.io/sharing": "fractional"}


@dataclass(frozen=True)
class GpuNode:
    """One node: its fake inventory, device-plugin config and the administrator's labels."""

    name: str
    gpus: str  # the inventory's `gpus:` list, in flow style
    config: str | None = None
    admin_labels: dict[str, str] = field(default_factory=dict)

    @property
    def inventory(self) -> str:
        return f"node: {self.name}\ngpus: {self.gpus}\n"

    def plan(self) -> NodePlan:
        backend = FakeBackend(text=self.inventory)
        config = parse_config(self.config) if self.config else None
        return plan_node(backend.inventory(), config, fractional_from_labels(self.admin_labels))

    def labels(self) -> dict[str, str]:
        """What the Node should carry once its agent ran."""
        return {"kubernetes.io/hostname": self.name, **self.admin_labels} | node_labels(
            self.plan()
        )

    def node_object(self) -> dict[str, Any]:
        advertised = {k: str(v) for k, v in self.plan().advertised().items()}
        amounts = {"cpu": "64", "memory": "512Gi", "pods": "250", **advertised}
        return {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": self.name,
                "labels": {"kubernetes.io/hostname": self.name, **self.admin_labels},
            },
            "status": {"allocatable": amounts, "capacity": amounts},
        }


@dataclass
class RunningNode:
    node: GpuNode
    plan: NodePlan
    agent: NodeAgent
    kubelet: FakeKubelet

    def kubelet_ids(self, brain_id: str) -> list[str]:
        """The kubelet device ids the plugin advertises for a brain device id (several for a
        fractional GPU's split devices)."""
        return [d.id for d in self.plan.devices if d.device.scheduler_id == brain_id]

    def uuid(self, kubelet_id: str) -> str:
        (device,) = [d for d in self.plan.devices if d.id == kubelet_id]
        return device.uuid

    def resource_ids(self, resource: str) -> list[str]:
        return [d.id for d in self.plan.devices if d.resource == resource]

    def plugin(self, resource: str) -> PluginConnection:
        return self.kubelet.plugin(resource)

    def expected_ids(self, assignment: DeviceAssignment, taken: set[str]) -> list[str]:
        """The kubelet ids the scheduler's assignment means, given those the kubelet handed out
        already: its devices, or for fractions a split device of each GPU it shares (the
        first one left, as the plugin prefers)."""
        brain = assignment.devices or tuple(f"gpu{g}" for g in assignment.gpus)
        out: list[str] = []
        for name in brain:
            left = [i for i in self.kubelet_ids(name) if i not in taken and i not in out]
            assert left, f"no kubelet device left for {name}"
            out.append(left[0])
        return out


@contextmanager
def node_agents(
    nodes: list[GpuNode], kubeconfig: Path, *, wait_s: float = 2.0
) -> Iterator[dict[str, RunningNode]]:
    """One fake kubelet and one node agent with API access (this kubeconfig) per node."""
    running: dict[str, RunningNode] = {}
    with ExitStack() as stack:
        for node in nodes:
            # Short: unix socket paths are limited to 107 bytes.
            directory = Path(tempfile.mkdtemp(prefix="gpe", dir="/tmp"))
            stack.callback(shutil.rmtree, directory, True)
            kubelet = FakeKubelet(directory).start()
            stack.callback(kubelet.stop)
            access = ApiAccess(load_config(kubeconfig), node.name, wait_s=wait_s)
            agent = NodeAgent(
                FakeBackend(text=node.inventory),
                parse_config(node.config) if node.config else None,
                AgentOptions(kubelet_dir=directory, poll_interval=0.05, api=access),
            )
            agent.start()
            stack.callback(agent.stop)
            assert agent.plan is not None
            running[node.name] = RunningNode(node, agent.plan, agent, kubelet)
        yield running


def admin_client(fake: FakeApiServer) -> httpx2.Client:
    """An HTTP client with the admin's token (also served when the fake checks RBAC)."""
    headers = {"Authorization": f"Bearer {fake.ADMIN_TOKEN}"}
    return httpx2.Client(base_url=fake.url, timeout=5.0, headers=headers)


def eventually(check: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait (from a thread that runs no event loop) for a condition."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


def labelled(fake: FakeApiServer, nodes: list[GpuNode]) -> Callable[[], bool]:
    """A check: every Node carries exactly the labels its agent and administrator set."""
    wanted = {("", n.name): n.labels() for n in nodes}

    def check() -> bool:
        objects = fake.objects("nodes")
        return all(objects[k]["metadata"].get("labels") == v for k, v in wanted.items())

    return check


def pending_in_book(node: RunningNode) -> set[str]:
    """The pods (namespace/name) the node's agent holds as waiting for their devices."""
    assert node.agent.api is not None
    book = node.agent.api.book
    resources = {d.resource for d in node.plan.devices}
    return {line.split(" ")[0] for r in resources for line in book.pending(r)}


def serve_like_the_kubelet(node: RunningNode, pods: list[dict[str, Any]]) -> None:
    """Admit the node's pods (one container each) in this order: every preferred allocation and
    Allocate must be the scheduler's own devices, which the kubelet then no longer offers."""
    taken: set[str] = set()
    served = {d.resource for d in node.plan.devices}
    for obj in pods:
        name = obj["metadata"]["name"]
        assignment = decode_assignment(obj["metadata"]["annotations"][DEVICES_ANNOTATION])
        (container,) = obj["spec"]["containers"]
        (resource,) = [r for r in container["resources"]["limits"] if r in served]
        want = node.expected_ids(assignment, taken)
        available = [i for i in node.resource_ids(resource) if i not in taken]
        plugin = node.plugin(resource)
        assert plugin.preferred(available, len(want)) == want, name
        envs = plugin.allocate(want).container_responses[0].envs
        uuids = dict.fromkeys(node.uuid(i) for i in want)
        assert envs["NVIDIA_VISIBLE_DEVICES"] == ",".join(uuids), name
        # The kubelet hands a device to one container only, a fraction's split device too:
        # the scheduler placed no more pods on a fractional GPU than it has split devices.
        taken.update(want)
        if not assignment.devices:
            milli = ",".join(str(m) for m in assignment.gpu_milli)
            assert envs["GPUPLANE_GPU_MILLI"] == milli, name


def serve_every_pod(agents: dict[str, RunningNode], pods: list[dict[str, Any]]) -> None:
    """Each node's bound pods through its kubelet, oldest binding first (the agent's order),
    once its agent's pod watch holds them all."""
    on_node: dict[str, list[dict[str, Any]]] = {name: [] for name in agents}
    for obj in pods:
        on_node[obj["spec"]["nodeName"]].append(obj)
    for node, mine in on_node.items():
        wanted = {f"{o['metadata']['namespace']}/{o['metadata']['name']}" for o in mine}
        eventually(lambda node=node, wanted=wanted: pending_in_book(agents[node]) == wanted)
        mine.sort(
            key=lambda o: (
                decode_bind_time(o["metadata"]["annotations"][BIND_TIME_ANNOTATION]),
                o["metadata"]["creationTimestamp"],
                o["metadata"]["name"],
            )
        )
        serve_like_the_kubelet(agents[node], mine)
