"""What simulate reads and warns about: the silent mistakes of issue 17 are said out loud."""

from __future__ import annotations

from pathlib import Path

import pytest

from gpuplane.sim.twin.load import load_twin
from gpuplane.sim.twin.run_variants import run_variants
from gpuplane.sim.twin.unmanaged import UNMANAGED

from twin_helpers import QUEUES, SCENARIO, tiny_scenario

JOBS = """\
apiVersion: batch/v1
kind: Job
metadata:
  name: labelled
  namespace: team
  labels: {kueue.x-k8s.io/queue-name: train}
  annotations: {gpuplane.io/duration: 1h}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: i, resources: {limits: {nvidia.com/gpu: 1}}}]
---
apiVersion: batch/v1
kind: Job
metadata:
  name: unlabelled
  namespace: team
  annotations: {gpuplane.io/duration: 1h}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: i, resources: {limits: {nvidia.com/gpu: 1}}}]
"""

#: Two Jobs from a manifest, nothing generated, one variant: quick to run.
MANIFEST_ONLY = """\
name: jobs
seed: 1
horizon: 4h
cluster:
  nodePools:
    - {name: a100, count: 1, cpu: "96", memory: 1000Gi,
       gpu: {model: NVIDIA-A100-SXM4-80GB, count: 8}}
queues: [queues.yaml]
workload:
  manifests: [jobs.yaml]
variants:
  - name: only
"""


def _jobs_scenario(folder: Path, jobs: str = JOBS, extra: str = "") -> Path:
    path = tiny_scenario(folder, MANIFEST_ONLY + extra)
    (folder / "jobs.yaml").write_text(jobs, encoding="utf-8")
    return path


def test_the_tiny_scenario_is_clean_and_summarized(tmp_path: Path) -> None:
    twin = load_twin(tiny_scenario(tmp_path))
    assert twin.warnings == ()
    assert twin.summary[0].startswith("read 6 objects: 2 ClusterQueue, 2 LocalQueue")
    assert "60 workloads by LocalQueue: " in twin.summary[-1]
    assert "team/serve" in twin.summary[-1] and "team/train" in twin.summary[-1]


def test_a_localqueue_naming_no_clusterqueue_is_a_warning_at_its_line(tmp_path: Path) -> None:
    # The typo that starved a whole team with exit status 0.
    path = tiny_scenario(tmp_path)
    (tmp_path / "queues.yaml").write_text(
        QUEUES.replace("spec: {clusterQueue: serve}", "spec: {clusterQueue: serv}"),
        encoding="utf-8",
    )
    warnings = load_twin(path).warnings
    lines = QUEUES.splitlines()
    line = len(lines) - lines[::-1].index("kind: LocalQueue") - 1  # the last one's apiVersion
    assert any(
        f"queues.yaml:{line}: LocalQueue team/serve points to ClusterQueue serv, which does not "
        "exist" in w
        for w in warnings
    ), warnings
    assert any("whose ClusterQueue serv does not exist" in w for w in warnings)


def test_a_team_naming_no_localqueue_is_a_warning_naming_the_team(tmp_path: Path) -> None:
    scenario = SCENARIO.replace("queue: serve,", "queue: srve,")
    (warning,) = load_twin(tiny_scenario(tmp_path, scenario)).warnings
    assert "workloads name LocalQueue team/srve, which does not exist (in team: serve, train)" in (
        warning
    )
    assert "scenario.yaml: workload.arrivals[0].teams[1].queue" in warning


def test_jobs_without_a_queue_name_run_unmanaged_as_in_kueue(tmp_path: Path) -> None:
    twin = load_twin(_jobs_scenario(tmp_path))
    assert twin.warnings == ()
    assert "2 workloads by LocalQueue: 1 (no queue), 1 team/train" in twin.summary[-1]
    (result,) = run_variants(twin.variants, jobs=1)
    assert result.report.rejected == 0 and result.report.finished == 2
    assert UNMANAGED in result.report.wait_by_queue


def test_manage_jobs_without_queue_name_holds_them_and_says_so(tmp_path: Path) -> None:
    path = _jobs_scenario(tmp_path, extra="queueing: {manageJobsWithoutQueueName: true}\n")
    twin = load_twin(path)
    (warning,) = twin.warnings
    assert "1 workloads name no queue in namespace team, and manageJobsWithoutQueueName" in warning
    assert "team/unlabelled (" in warning and "jobs.yaml:14" in warning
    (result,) = run_variants(twin.variants, jobs=1)
    assert result.report.rejected == 1 and result.report.finished == 1


def test_workloads_without_a_duration_are_counted_and_named(tmp_path: Path) -> None:
    jobs = JOBS.replace("  annotations: {gpuplane.io/duration: 1h}\n", "")
    (warning,) = load_twin(_jobs_scenario(tmp_path, jobs)).warnings
    assert warning.startswith("2 workloads have no duration and run until the horizon: ")
    assert "team/labelled (" in warning and "jobs.yaml:13" in warning  # one line less above


def test_skipped_objects_are_warnings_and_in_the_summary(tmp_path: Path) -> None:
    extra = """\
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: team}
---
apiVersion: v1
kind: Pod
metadata: {name: old, namespace: team, labels: {kueue.x-k8s.io/queue-name: train}}
spec: {containers: [{name: c, image: i, resources: {limits: {nvidia.com/gpu: 6}}}]}
status: {phase: Succeeded}
"""
    twin = load_twin(_jobs_scenario(tmp_path, JOBS + extra))
    assert twin.summary[1] == "skipped 2: 1 Deployment (not read by gpuplane), 1 Pod (Succeeded)"
    assert [w.split(": ", 1)[1] for w in twin.warnings] == [
        "Deployment (apps/v1) is not read by gpuplane; skipped",
        "Pod old is Succeeded: a finished pod holds no resources; skipped",
    ]
    assert "2 workloads" in twin.summary[-1]  # the finished pod is not one of them


def test_gpus_no_clusterqueue_covers_are_a_warning(tmp_path: Path) -> None:
    scenario = SCENARIO.replace("count: 3\n", "count: 13\n")  # 52 L4s + 8 A100s > 48 in quota
    warnings = load_twin(tiny_scenario(tmp_path, scenario)).warnings
    # Every variant has the same GPUs (time-slicing shares them, it adds none): one warning.
    assert warnings == (
        "the ClusterQueues' quotas cover 48 of the cluster's 60 nvidia.com/gpu: Kueue admits "
        "no work onto the other 12",
    )


@pytest.mark.parametrize("name", ["queueing", "volcano"])
def test_the_example_scenarios_are_clean(name: str) -> None:
    from helpers import REPO

    assert load_twin(REPO / "examples" / name / "scenario.yaml").warnings == ()


def test_the_built_in_scenario_is_clean() -> None:
    assert load_twin().warnings == ()
