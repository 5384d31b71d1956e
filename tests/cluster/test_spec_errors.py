"""Config files fail alike: cluster specs and scenarios name file, line, field, and a hint."""

from __future__ import annotations

from pathlib import Path

import pytest

from gpuplane.cluster.load import load_cluster
from gpuplane.errors import ClusterSpecError, InputError
from gpuplane.sim.twin.load import load_twin

CLUSTER = """\
name: demo
nodePools:
  - name: a100
    count: 2
    cpu: "96"
    memory: 1Ti
    gpu: {model: NVIDIA-A100-SXM4-80GB, count: 8}
"""

SCENARIO = """\
name: demo
horizon: 2h
cluster:
  nodePools:
    - name: a100
      count: 1
      cpu: "96"
      memory: 1Ti
      gpu: {model: NVIDIA-A100-SXM4-80GB, count: 8}
queues: [queues.yaml]
workload:
  kinds:
    train: {gpus: 8, duration: 1h}
  arrivals:
    - name: day
      count: 2
      ratePerHour: 1
      teams: [{namespace: ml, queue: ml, kinds: {train: 1}}]
"""


def cluster_error(tmp_path: Path, text: str) -> InputError:
    path = tmp_path / "cluster.yaml"
    path.write_text(text)
    with pytest.raises(ClusterSpecError) as err:
        load_cluster(path)
    return err.value


def scenario_error(tmp_path: Path, text: str) -> InputError:
    path = tmp_path / "scenario.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as err:
        load_twin(path)
    return err.value


def where(err: InputError) -> tuple[str, int | None, str | None]:
    assert err.where is not None
    return Path(err.where.file or "").name, err.where.line, err.where.field


def test_cluster_unknown_key_suggests_the_known_one(tmp_path: Path) -> None:
    err = cluster_error(tmp_path, CLUSTER.replace("    count: 2", "    cuont: 2"))
    assert err.message == "unknown field cuont"
    assert where(err) == ("cluster.yaml", 4, "nodePools[0].cuont")
    assert err.hint is not None and err.hint.startswith("did you mean count? known fields here:")


def test_cluster_wrong_type_names_the_field_and_line(tmp_path: Path) -> None:
    err = cluster_error(tmp_path, CLUSTER.replace("count: 8}", "count: many}"))
    assert where(err) == ("cluster.yaml", 7, "nodePools[0].gpu.count")
    assert "integer" in err.message


def test_cluster_missing_field_points_at_the_mapping_that_lacks_it(tmp_path: Path) -> None:
    err = cluster_error(tmp_path, CLUSTER.replace("    count: 2\n", ""))
    assert err.message == "missing required field count"
    assert where(err) == ("cluster.yaml", 3, "nodePools[0].count")
    assert err.hint is not None and "known fields here: name, count" in err.hint
    top = cluster_error(tmp_path, "name: demo\n")
    assert where(top) == ("cluster.yaml", 1, "nodePools")


def test_scenario_unknown_key_suggests_the_known_one(tmp_path: Path) -> None:
    err = scenario_error(tmp_path, SCENARIO.replace("ratePerHour", "ratePerHuor"))
    assert err.message == "unknown field ratePerHuor"
    assert where(err) == ("scenario.yaml", 17, "workload.arrivals[0].ratePerHuor")
    assert err.hint is not None and err.hint.startswith("did you mean ratePerHour?")


def test_scenario_wrong_type_names_the_field_and_line(tmp_path: Path) -> None:
    err = scenario_error(tmp_path, SCENARIO.replace("count: 2", "count: two"))
    assert where(err) == ("scenario.yaml", 16, "workload.arrivals[0].count")
    assert "integer" in err.message


def test_scenario_missing_field_points_at_the_mapping_that_lacks_it(tmp_path: Path) -> None:
    err = scenario_error(tmp_path, SCENARIO.replace("      ratePerHour: 1\n", ""))
    assert err.message == "missing required field ratePerHour"
    assert where(err) == ("scenario.yaml", 15, "workload.arrivals[0].ratePerHour")
    top = scenario_error(tmp_path, SCENARIO.replace("queues: [queues.yaml]\n", ""))
    assert where(top) == ("scenario.yaml", 1, "queues")
    variant = SCENARIO + "variants:\n  - description: no name\n"
    err = scenario_error(tmp_path, variant)
    assert err.message == "missing required field name"
    assert where(err) == ("scenario.yaml", 20, "variants[0].name")
