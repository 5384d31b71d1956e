"""`gpuplane admission-check` as a process: Kueue's v1beta1 check made Ready, then SIGTERM."""

from __future__ import annotations

import signal
import time
from pathlib import Path

from fakeapi import FakeApiServer
from kueue_crds import register_kueue
from kueue_helpers import Kueue
from live_helpers import create, fake_http
from scheduler_helpers import NODES, h100, register_pod_groups
from test_scheduler_cli import gpuplane


def test_the_admission_check_verb_admits_a_placeable_workload_and_stops_on_sigterm(
    fake: FakeApiServer, tmp_path: Path
) -> None:
    register_kueue(fake, ("v1beta1",))
    register_pod_groups(fake)
    config = fake.write_kubeconfig(tmp_path / "config", context="fake")
    with fake_http(fake) as http:
        create(http, NODES, h100("h100-a", 8))
        kueue = Kueue(http, "v1beta1")
        kueue.install()
        kueue.submit("fits", pods=2, gpus=4)
        kueue.reserve("fits")
        kueue.submit("too-big", pods=3, gpus=4)
        kueue.reserve("too-big")
        proc = gpuplane(
            "admission-check", "--kubeconfig", str(config), "--metrics-address", "",
            "--kueue-api", "v1beta1",
        )
        try:
            deadline = time.monotonic() + 20
            while kueue.check("fits")["state"] != "Ready" and time.monotonic() < deadline:
                assert proc.poll() is None, proc.communicate()[0]
                time.sleep(0.05)
            assert kueue.check("fits")["state"] == "Ready"
            while not kueue.check("too-big")["message"] and time.monotonic() < deadline:
                time.sleep(0.05)
            assert kueue.check("too-big")["state"] == "Pending"
            assert "cannot all be placed" in kueue.check("too-big")["message"]
        finally:
            proc.send_signal(signal.SIGTERM)
            output, _ = proc.communicate(timeout=10)
    assert proc.returncode == 0, output


def test_an_unknown_kueue_version_is_an_input_error(tmp_path: Path) -> None:
    proc = gpuplane("admission-check", "--kubeconfig", str(tmp_path / "x"), "--kueue-api", "v2")
    output, _ = proc.communicate(timeout=20)
    assert proc.returncode == 2
    assert "unknown Kueue API version 'v2'" in output
