"""`gpuplane node metrics` and the node agent's metrics options, from the command line."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from gpuplane.node import FakeBackend

from fake_podresources import FakePodResources
from helpers import run_cli as cli
from telemetry_helpers import one, parse

NODE = "node: n0\ngpus: [{model: NVIDIA-L4, count: 2}]\n"



def test_node_metrics_prints_one_scrape_with_pods(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    inventory = tmp_path / "node.yaml"
    inventory.write_text(NODE)
    gpu = FakeBackend(text=NODE).inventory().gpus[1].uuid
    monkeypatch.setenv("NODE_NAME", "gpu-node-7")
    with FakePodResources(tmp_path / "kubelet.sock") as kubelet:
        kubelet.assign("web", "encoder", "main", "nvidia.com/gpu", [gpu])
        status, out, err = cli(
            capsys, monkeypatch, "node", "metrics", "--backend", "fake",
            "--inventory", inventory, "--pod-resources-socket", kubelet.socket,
        )
    assert status == 0, err
    types, samples = parse(out)
    assert types["DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION"] == "counter"
    util = one(samples, "DCGM_FI_DEV_GPU_UTIL", UUID=gpu)
    assert (util.labels["pod"], util.labels["namespace"]) == ("encoder", "web")
    assert util.labels["Hostname"] == "gpu-node-7"


def test_node_agent_says_when_the_metrics_port_is_taken(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    inventory = tmp_path / "node.yaml"
    inventory.write_text(NODE)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        status, _, err = cli(
            capsys, monkeypatch, "node-agent", "--backend", "fake", "--inventory", inventory,
            "--kubelet-dir", tmp_path, "--metrics-address", "127.0.0.1",
            "--metrics-port", str(port),
        )
    assert status == 2
    assert f"cannot serve metrics on 127.0.0.1:{port}" in err
