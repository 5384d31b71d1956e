"""Every number a user gives is bounded where it is read: exit 2 naming the field, never a crash,
a hang or a meaningless result (issue 16). The bounds are gpuplane.limits, listed in
docs/limits.md."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from gpuplane import limits

from helpers import REPO, run_cli

CLUSTER = REPO / "examples" / "cluster.yaml"
SCENARIOS = REPO / "src" / "gpuplane" / "sim" / "twin" / "scenarios"
POD = """\
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  tolerations: [{key: nvidia.com/gpu, operator: Exists}]
  containers: [{name: c, image: i, resources: {limits: {LIMITS}}}]
"""
JOB = """\
apiVersion: batch/v1
kind: Job
metadata: {name: j}
spec:
  parallelism: 1000000000
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: i, resources: {limits: {cpu: "1"}}}]
"""

Cli = Callable[..., tuple[int, str, str]]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    def run(*args: str | Path) -> tuple[int, str, str]:
        return run_cli(capsys, monkeypatch, *args)

    return run


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("cpu", "1e30", r"nodePools\[0\]\.cpu: .*more than gpuplane takes \(1,000,000 cores\)"),
        ("cpu", 1e30, r"nodePools\[0\]\.cpu: .*more than gpuplane takes"),
        ("memory", "1e30", r"nodePools\[0\]\.memory: .*more than gpuplane takes"),
    ],
)
def test_huge_node_amounts_in_a_cluster_spec(
    tmp_path: Path, cli: Cli, field: str, value: object, message: str
) -> None:
    spec = yaml.safe_load(CLUSTER.read_text())
    spec["nodePools"][0][field] = value
    path = write(tmp_path / "c.yaml", yaml.safe_dump(spec))
    pod = write(tmp_path / "p.yaml", POD.replace("LIMITS", 'nvidia.com/gpu: "1"'))
    code, _, err = cli("place", "-c", path, pod)
    assert code == 2 and "Traceback" not in err
    assert re.search(message, err), err


@pytest.mark.parametrize(
    "limits",
    ['nvidia.com/gpu: "1", nvidia.com/gpumem: "1e30"', 'nvidia.com/gpu: "1e30"', 'cpu: "1e30"'],
)
def test_huge_pod_requests(tmp_path: Path, cli: Cli, limits: str) -> None:
    pod = write(tmp_path / "p.yaml", POD.replace("LIMITS", limits))
    code, _, err = cli("place", "-c", CLUSTER, pod)
    assert code == 2 and "Traceback" not in err
    assert "more than gpuplane takes" in err and "p.yaml:6:" in err


def test_a_job_of_a_billion_pods_is_refused_not_expanded(tmp_path: Path, cli: Cli) -> None:
    code, _, err = cli("place", "-c", CLUSTER, write(tmp_path / "j.yaml", JOB))
    assert code == 2
    assert "j.yaml:5: spec.parallelism: must be at most 100,000" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["simulate", "--seed", "-1"], "--seed"),
        (["replay", "openb", "--seeds=-42"], "is not a seed or a range"),
        (["replay", "openb", "--seeds", "1-100000000"], "more than 10,000 seeds"),
        (["replay", "openb", "--seeds", "51-42"], "not a range from low to high"),
        (["replay", "openb", "--tune", "inf"], "--tune"),
        (["replay", "openb", "--tune", "0"], "--tune"),
    ],
)
def test_seeds_and_tune_out_of_range(
    cli: Cli, tmp_path: Path, args: list[str], message: str
) -> None:
    code, _, err = cli(*args, "--out", tmp_path / "o")
    assert code == 2 and "Traceback" not in err
    assert message in err
    assert not (tmp_path / "o").exists()


def scenario(tmp_path: Path, change: Callable[[dict[str, Any]], None]) -> Path:
    spec = yaml.safe_load((SCENARIOS / "default.yaml").read_text())
    change(spec)
    shutil.copy(SCENARIOS / "default-queues.yaml", tmp_path / "default-queues.yaml")
    return write(tmp_path / "s.yaml", yaml.safe_dump(spec))


def arrival(key: str, value: object) -> Callable[[dict[str, Any]], None]:
    def change(spec: dict[str, Any]) -> None:
        spec["workload"]["arrivals"][0][key] = value

    return change


def kind(key: str, value: object) -> Callable[[dict[str, Any]], None]:
    def change(spec: dict[str, Any]) -> None:
        spec["workload"]["kinds"]["pretrain"][key] = value

    return change


def no_nodes(spec: dict[str, Any]) -> None:
    for pool in spec["cluster"]["nodePools"]:
        pool["count"] = 0


def zero_weight(spec: dict[str, Any]) -> None:
    spec["workload"]["arrivals"][0]["teams"][0]["kinds"]["pretrain"] = 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (arrival("count", 1_000_000), "workload.arrivals[0].count"),
        (arrival("ratePerHour", float("inf")), "workload.arrivals[0].ratePerHour"),
        (arrival("ratePerHour", float("nan")), "workload.arrivals[0].ratePerHour"),
        (kind("gpus", -1), "workload.kinds.pretrain.gpus"),
        (kind("gpus", []), "workload.kinds.pretrain.gpus"),
        (kind("pods", 10**9), "workload.kinds.pretrain.pods"),
        (zero_weight, "kinds.pretrain"),
        (no_nodes, "the cluster has no nodes"),
    ],
)
def test_scenarios_out_of_range_are_refused_before_running(
    tmp_path: Path, cli: Cli, change: Callable[[dict[str, Any]], None], message: str
) -> None:
    path = scenario(tmp_path, change)
    code, out, err = cli("simulate", path, "--out", tmp_path / "o")
    assert code == 2 and "Traceback" not in err, err
    assert message in err
    assert out == "" and not (tmp_path / "o").exists()


def test_docs_list_every_limit() -> None:
    table = (REPO / "docs" / "limits.md").read_text()
    names = [n for n in vars(limits) if n.startswith("MAX_")]
    assert names, "no limits found"
    missing = [n for n in names if f"`{n}`" not in table]
    assert not missing, f"docs/limits.md lacks {missing}"


def test_device_plugin_replicas_are_bounded() -> None:
    """`replicas: 1e7` in a device-plugin config (each a kubelet device) froze a running agent."""
    from gpuplane.errors import InputError
    from gpuplane.node import parse_config

    config = """\
version: v1
sharing:
  timeSlicing:
    resources: [{name: nvidia.com/gpu, replicas: 10000000}]
"""
    with pytest.raises(InputError, match=r"config.yaml:4: .*replicas: must be at most 1,024"):
        parse_config(config, "config.yaml")
    assert parse_config(config.replace("10000000", "1024"), "config.yaml") is not None
