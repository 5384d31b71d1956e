"""`gpuplane scheduler` as a process: binds through the fake API, stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from fakeapi import FakeApiServer
from live_helpers import create, fake_http
from scheduler_helpers import NODES, PODS, gpu_pod, h100, node_of

SRC = Path(__file__).resolve().parents[2] / "src"


def gpuplane(*args: str) -> subprocess.Popen[str]:
    env = os.environ | {"PYTHONPATH": str(SRC)}
    return subprocess.Popen(
        [sys.executable, "-m", "gpuplane", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_the_scheduler_verb_binds_and_stops_on_sigterm(
    fake: FakeApiServer, tmp_path: Path
) -> None:
    config = fake.write_kubeconfig(tmp_path / "config", context="fake")
    with fake_http(fake) as http:
        create(http, NODES, h100("h100-a", 4))
        create(http, PODS, gpu_pod("p", {"nvidia.com/gpu": "2"}))
    proc = gpuplane(
        "scheduler", "--kubeconfig", str(config), "--context", "fake", "--policy", "fgd"
    )
    try:
        deadline = time.monotonic() + 20
        while node_of(fake, "p") is None and time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()[0]
            time.sleep(0.05)
        assert node_of(fake, "p") == "h100-a"
    finally:
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=10)
    assert proc.returncode == 0, output


def test_an_unknown_policy_is_an_input_error(tmp_path: Path) -> None:
    proc = gpuplane("scheduler", "--kubeconfig", str(tmp_path / "none"), "--policy", "nope")
    output, _ = proc.communicate(timeout=20)
    assert proc.returncode == 2
    assert "unknown placement policy 'nope'" in output and "fgd" in output
