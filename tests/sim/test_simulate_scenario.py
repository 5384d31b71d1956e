"""Scenario files for `gpuplane simulate`: bad ones are refused with field path, line and hint."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gpuplane.errors import InputError
from gpuplane.sim.twin.load import default_scenario_path, load_twin

from twin_helpers import SCENARIO, tiny_scenario


def refused(tmp_path: Path, old: str, new: str) -> InputError:
    assert old in SCENARIO, old
    path = tiny_scenario(tmp_path, SCENARIO.replace(old, new, 1))
    with pytest.raises(InputError) as caught:
        load_twin(path)
    return caught.value


def line_of(text: str, path: Path) -> int:
    """1-based line of the first line of the file that contains `text`."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


def test_the_tiny_scenario_loads_with_every_variant(tmp_path: Path) -> None:
    twin = load_twin(tiny_scenario(tmp_path))
    assert [v.name for v in twin.variants] == ["exclusive", "shared", "spot"]
    shared = twin.variants[1]
    l4 = [n for n in shared.nodes if n.name.startswith("l4-")]
    assert l4 and all(n.sharing.default.replicas == 4 for n in l4)
    # Only the variant's override changed: the exclusive variant's L4s are still whole.
    assert all(n.sharing.default.replicas == 1 for n in twin.variants[0].nodes)
    spot = twin.variants[2]
    assert spot.policy == "fgd"
    a100 = next(p for p in spot.pools if p.name == "a100")
    assert a100.spot and a100.price == pytest.approx(5.12 * (1 - 0.65))
    assert next(p for p in spot.pools if p.name == "l4").price == 1.0
    assert any(n.labels.get("karpenter.sh/capacity-type") == "spot" for n in spot.nodes)
    # The same workloads, down to the object, in every variant.
    assert all(v.workloads is twin.variants[0].workloads for v in twin.variants)


def test_unknown_policy_in_a_variant(tmp_path: Path) -> None:
    err = refused(tmp_path, "    placement: fgd", "    placement: fgdd")
    assert err.where is not None and err.where.field == "variants[2].placement"
    assert err.where.line == line_of("placement: fgdd", tmp_path / "scenario.yaml")
    assert "unknown placement policy 'fgdd'" in err.message
    assert err.hint is not None and "most-allocated" in err.hint and "fgd" in err.hint


def test_unknown_gpu_model(tmp_path: Path) -> None:
    err = refused(tmp_path, "gpu: {model: L4, count: 4}", "gpu: {model: L5, count: 4}")
    assert err.where is not None and err.where.field == "cluster.nodePools[1].gpu.model"
    assert "unknown GPU model 'L5'" in err.message
    assert err.hint is not None and "NVIDIA-L4" in err.hint


def test_a_variant_overriding_a_field_that_does_not_exist(tmp_path: Path) -> None:
    err = refused(
        tmp_path,
        "{name: l4, sharing: {mode: time-slicing, replicas: 4}}",
        "{name: l4, sharing: {mdoe: time-slicing, replicas: 4}}",
    )
    assert err.where is not None
    assert err.where.field == "variants[1].cluster.nodePools[0].sharing.mdoe"
    assert err.where.line == line_of("mdoe", tmp_path / "scenario.yaml")
    assert err.hint is not None and err.hint.startswith("did you mean mode?")


def test_a_variant_may_not_change_the_workload(tmp_path: Path) -> None:
    err = refused(tmp_path, "    placement: fgd", "    placement: fgd\n    seed: 4")
    assert err.where is not None and err.where.field == "variants[2].seed"
    assert err.hint is not None and "shared by every variant" in err.hint


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("onDemand: {L4: 1.0}", "onDemand: {L4: -1.0}", "variants[2].prices.onDemand.L4"),
        ("spot: {", "prices: {onDemand: {T4: -2}}\nspot: {", "prices.onDemand.T4"),
    ],
)
def test_negative_price(tmp_path: Path, old: str, new: str, field: str) -> None:
    err = refused(tmp_path, old, new)
    assert err.where is not None and err.where.field == field
    assert "greater than or equal to 0" in err.message
    assert err.hint is not None and "per GPU-hour" in err.hint


def test_price_for_an_unknown_gpu(tmp_path: Path) -> None:
    err = refused(tmp_path, "onDemand: {L4: 1.0}", "onDemand: {L44: 1.0}")
    assert err.where is not None and err.where.field == "variants[2].prices.onDemand.L44"
    assert err.hint is not None and "L4" in err.hint


def test_a_variant_that_breaks_the_hardware_is_refused_in_its_own_place(tmp_path: Path) -> None:
    err = refused(
        tmp_path,
        "{name: l4, sharing: {mode: time-slicing, replicas: 4}}",
        "{name: l4, sharing: {mode: mig, migLayout: all-1g.10gb}}",
    )
    assert err.where is not None and err.where.field == "variants[1].cluster.nodePools[0]"
    assert "not MIG-capable" in err.message


def test_a_new_pool_in_a_variant_needs_every_field(tmp_path: Path) -> None:
    err = refused(
        tmp_path,
        "        - {name: a100, capacityType: spot}",
        "        - {name: a100, capacityType: spot}\n        - {name: h100, count: 2}",
    )
    assert err.where is not None and err.where.field == "variants[2].cluster.nodePools[1].cpu"
    assert err.hint is not None and "capacityType" in err.hint


def test_duplicate_variant_names(tmp_path: Path) -> None:
    err = refused(tmp_path, "  - name: spot\n", "  - name: shared\n")
    assert err.where is not None and err.where.field == "variants[2].name"


def test_a_failure_on_a_node_the_variant_lacks(tmp_path: Path) -> None:
    err = refused(tmp_path, "spot: {", "failures: [{node: a100-1, at: 1h}]\nspot: {")
    assert err.where is not None and err.where.field == "failures[0].node"


def test_the_default_scenario_is_valid() -> None:
    twin = load_twin(default_scenario_path())
    names = [v.name for v in twin.variants]
    assert names == ["exclusive", "time-slicing", "mig", "fgd", "spot-training", "kueue-quota-only"]
    base = twin.variants[0]
    gpu_nodes = [n for n in base.nodes if n.gpu_count]
    assert len(base.nodes) == 40
    # GPU nodes are tainted, as the GPU operator's node pools usually are.
    assert all(any(t.key == "nvidia.com/gpu" for t in n.taints) for n in gpu_nodes)
    assert {p.model for p in base.pools if p.model} == {
        "NVIDIA-H100-80GB-HBM3",
        "NVIDIA-A100-SXM4-80GB",
        "NVIDIA-L4",
        "Tesla-T4",
    }
    assert 500 < len(base.workloads) < 3000
    gangs = [w for w in base.workloads if w.pod_count > 1]
    assert gangs, "the default day has gang training jobs"


def test_the_cli_refuses_a_bad_scenario_before_running_anything(tmp_path: Path) -> None:
    path = tiny_scenario(tmp_path, SCENARIO.replace("    placement: fgd", "    placement: fgdd"))
    result = subprocess.run(
        [sys.executable, "-m", "gpuplane", "simulate", str(path), "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "variants[2].placement" in result.stderr and "hint:" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "o").exists()
