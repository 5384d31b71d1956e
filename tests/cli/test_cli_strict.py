"""`place` and `simulate` say what they read; --strict turns every warning into exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import REPO, run_cli
from twin_helpers import QUEUES, tiny_scenario

CLUSTER = REPO / "examples" / "cluster.yaml"

MIX = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec: {}
---
apiVersion: v1
kind: Pod
metadata: {name: finished}
spec:
  containers: [{name: c, image: i, resources: {limits: {nvidia.com/gpu: 6}}}]
status: {phase: Succeeded}
---
apiVersion: v1
kind: Pod
metadata: {name: running}
spec:
  tolerations: [{key: nvidia.com/gpu, operator: Exists}]
  containers: [{name: c, image: i, resources: {limits: {nvidia.com/gpu: 1}}}]
"""


def test_place_says_what_it_read_and_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "mix.yaml").write_text(MIX)
    code, out, err = run_cli(capsys, monkeypatch, "place", "-c", CLUSTER, tmp_path / "mix.yaml")
    assert code == 0
    # "1/1 pods placed" alone read as all of it while two objects were left out.
    assert "1/1 pods placed, 0 unschedulable; 2 objects skipped (1 Deployment, 1 Pod)." in out
    assert "read 1 object: 1 Pod" in err
    assert "skipped 2: 1 Deployment (not read by gpuplane), 1 Pod (Succeeded)" in err
    assert "mix.yaml:6: Pod finished is Succeeded" in err and "default/finished" not in out


def test_place_strict_fails_naming_each_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "mix.yaml").write_text(MIX)
    code, out, err = run_cli(
        capsys, monkeypatch, "place", "--strict", "-c", CLUSTER, tmp_path / "mix.yaml"
    )
    assert code == 2 and out == ""
    assert "error: " in err and "mix.yaml:1: Deployment (apps/v1) is not read" in err
    assert "mix.yaml:6: Pod finished is Succeeded" in err
    assert "2 problems with --strict" in err


@pytest.mark.parametrize(
    ("cluster", "manifests"),
    [
        ("examples/cluster.yaml", "examples/workloads/"),
        ("examples/sharing/cluster.yaml", "examples/sharing/workloads/"),
    ],
)
def test_place_strict_passes_on_the_examples(
    cluster: str,
    manifests: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code, _, err = run_cli(
        capsys, monkeypatch, "place", "--strict", "-c", REPO / cluster, REPO / manifests
    )
    assert code == 0 and "warning" not in err and "error" not in err


def test_simulate_strict_passes_on_an_example_and_prints_the_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario = REPO / "examples" / "volcano" / "scenario.yaml"
    code, out, err = run_cli(
        capsys, monkeypatch, "simulate", "--strict", "--json", "-j", "1", "--out", tmp_path,
        scenario,
    )
    assert code == 0 and out.startswith("{")  # stdout is the JSON alone
    assert "read 7 objects: 3 Pod, 2 Queue, 1 ConfigMap, 1 PodGroup" in err
    assert "workloads by LocalQueue: " in err and "warning" not in err


def test_simulate_strict_fails_on_a_broken_copy_before_running(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tiny_scenario(tmp_path / "s")
    (tmp_path / "s" / "queues.yaml").write_text(
        QUEUES.replace("spec: {clusterQueue: train}", "spec: {clusterQueue: trian}")
    )
    code, out, err = run_cli(
        capsys, monkeypatch, "simulate", "--strict", "--out", tmp_path / "out", path
    )
    assert code == 2 and out == ""
    assert "queues.yaml:" in err and "LocalQueue team/train points to ClusterQueue trian" in err
    assert "workloads name LocalQueue team/train, whose ClusterQueue trian does not exist" in err
    assert not list((tmp_path / "out").glob("*.html"))
    # Without --strict the same run goes on, warning.
    code, _, err = run_cli(
        capsys, monkeypatch, "simulate", "-j", "1", "--json", "--out", tmp_path / "out", path
    )
    assert code == 0 and "warning: " in err
