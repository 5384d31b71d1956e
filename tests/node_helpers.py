"""Builders for node agent tests: fake inventories, configs and plans without files."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fake_kubelet import FakeKubelet
from gpuplane.live.kube import load_config
from gpuplane.node import AgentOptions, FakeBackend, NodeAgent, NodePlan, parse_config, plan_node
from gpuplane.node.apiserver import ApiAccess
from live.fakeapi import FakeApiServer

A100 = "NVIDIA-A100-SXM4-80GB"

#: Two GPUs on each of two NUMA nodes.
FOUR_A100 = f"""
node: n1
gpus:
  - {{model: {A100}, count: 2, numaNode: 0}}
  - {{model: {A100}, count: 2, numaNode: 1}}
"""

TIME_SLICING_4 = """
version: v1
sharing:
  timeSlicing:
    resources: [{name: nvidia.com/gpu, replicas: 4}]
"""

RENAMED_2 = """
version: v1
sharing:
  timeSlicing:
    renameByDefault: true
    resources: [{name: nvidia.com/gpu, replicas: 2}]
"""

MPS_2 = """
version: v1
sharing:
  mps:
    resources: [{name: nvidia.com/gpu, replicas: 2}]
"""

MIXED = "version: v1\nflags: {migStrategy: mixed}\n"
SINGLE = "version: v1\nflags: {migStrategy: single}\n"


def mig_inventory(layout: str = "all-balanced", count: int = 2) -> str:
    return f"""
node: n1
gpus:
  - {{model: {A100}, count: {count}, numaNode: 0, mig: {layout}}}
"""


def plan(inventory: str, config: str | None = None) -> NodePlan:
    backend = FakeBackend(text=inventory)
    return plan_node(backend.inventory(), parse_config(config) if config else None)


@contextmanager
def agent_with_api(
    fake: FakeApiServer, tmp_path: Path, node: str, inventory: str, config: str | None = None
) -> Iterator[tuple[NodeAgent, FakeKubelet]]:
    """A node agent on the fake backend, with API access to `fake` as `node`, and its kubelet."""
    directory = Path(tempfile.mkdtemp(prefix="gpa", dir="/tmp"))  # short: unix socket paths
    kubelet = FakeKubelet(directory).start()
    kubeconfig = load_config(fake.write_kubeconfig(tmp_path / "kubeconfig"))
    access = ApiAccess(kubeconfig, node, wait_s=0.3, sync_timeout_s=5.0)
    agent = NodeAgent(
        FakeBackend(text=inventory),
        parse_config(config) if config else None,
        AgentOptions(kubelet_dir=directory, poll_interval=0.05, api=access),
    )
    try:
        agent.start()
        yield agent, kubelet
    finally:
        agent.stop()
        kubelet.stop()
        shutil.rmtree(directory, ignore_errors=True)
