"""node-agent's --kubeconfig, --context and --node-name."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from gpuplane.cli.node import _api_access
from gpuplane.errors import InputError
from live.fakeapi import FakeApiServer
from node_helpers import FOUR_A100


@pytest.fixture
def fake() -> Iterator[FakeApiServer]:
    with FakeApiServer(seed=3, bookmark_interval=0.05) as server:
        yield server
    assert server.errors == [], "the fake API server failed while serving"


@pytest.fixture(autouse=True)
def outside_a_pod(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.delenv("NODE_NAME", raising=False)


def test_without_api_flags_the_agent_runs_as_before() -> None:
    assert _api_access(None, None, None) is None


def test_the_node_name_comes_from_the_flag_else_from_node_name(
    fake: FakeApiServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kubeconfig = fake.write_kubeconfig(tmp_path / "config", context="fake")
    access = _api_access(kubeconfig, "fake", "gpu-7")
    assert access is not None and access.node == "gpu-7"
    assert access.config.cluster.server == fake.url
    with pytest.raises(InputError, match="needs this node's name") as err:
        _api_access(kubeconfig, None, None)
    assert err.value.hint is not None and "--node-name" in err.value.hint
    monkeypatch.setenv("NODE_NAME", "gpu-8")
    access = _api_access(kubeconfig, None, None)
    assert access is not None and access.node == "gpu-8"
    with pytest.raises(InputError, match="Context 'other' not found"):
        _api_access(kubeconfig, "other", "gpu-7")


def test_node_agent_patches_its_node_through_the_api(fake: FakeApiServer, tmp_path: Path) -> None:
    directory = Path(tempfile.mkdtemp(prefix="gpc", dir="/tmp"))
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(FOUR_A100)
    kubeconfig = fake.write_kubeconfig(tmp_path / "config")
    with httpx2.Client(base_url=fake.url, timeout=5.0) as http:
        node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}}
        assert http.post("/api/v1/nodes", json=node).status_code == 201
        args = ["node-agent", "--backend", "fake", "--inventory", str(inventory)]
        args += ["--kubelet-dir", str(directory), "--kubeconfig", str(kubeconfig)]
        env = dict(os.environ, NODE_NAME="n1", PYTHONPATH=os.pathsep.join(sys.path))
        agent = subprocess.Popen(
            [sys.executable, "-m", "gpuplane", *args],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + 20.0
            labels: dict[str, str] = {}
            while labels.get("nvidia.com/gpu.count") != "4":
                assert agent.poll() is None, agent.communicate()[1]
                assert time.monotonic() < deadline, "the agent did not label its node"
                time.sleep(0.1)
                labels = http.get("/api/v1/nodes/n1").json()["metadata"].get("labels") or {}
        finally:
            agent.send_signal(signal.SIGTERM)
            _, err = agent.communicate(timeout=10)
            shutil.rmtree(directory, ignore_errors=True)
    assert agent.returncode == 0, err
    assert '"node labels patched"' in err
