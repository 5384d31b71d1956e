"""Other ways to name a cluster and a workload: Node manifests, Job manifests, an openb trace."""

from __future__ import annotations

from pathlib import Path

from gpuplane.sim.twin.load import load_twin
from gpuplane.sim.twin.run_variants import run_variant

from twin_helpers import QUEUES

NODES = """\
apiVersion: v1
kind: Node
metadata:
  name: {name}
  labels:
    nvidia.com/gpu.product: {product}
    {extra}
status:
  allocatable: {{cpu: "48", memory: 192Gi, pods: "110", nvidia.com/gpu: "4"}}
"""

JOB = """\
apiVersion: batch/v1
kind: Job
metadata:
  name: train-{i}
  namespace: team
  labels: {{kueue.x-k8s.io/queue-name: train}}
  annotations: {{gpuplane.io/duration: 30m}}
spec:
  parallelism: 2
  template:
    spec:
      containers:
        - name: c
          image: busybox
          resources:
            limits: {{nvidia.com/gpu: 2}}
"""

SCENARIO = """\
name: sources
horizon: 4h
cluster: {{nodes: nodes.yaml}}
queues: [queues.yaml]
workload:
  {workload}
variants:
  - name: base
  - name: cheap
    prices: {{onDemand: {{L4: 0.1}}}}
"""


def write(folder: Path, workload: str) -> Path:
    nodes = "---\n".join(
        [
            NODES.format(name="l4-a", product="NVIDIA-L4", extra="gpuplane.io/pool: l4"),
            NODES.format(name="l4-b", product="NVIDIA-L4", extra="gpuplane.io/pool: l4"),
            NODES.format(
                name="t4-spot", product="Tesla-T4", extra="karpenter.sh/capacity-type: spot"
            ),
        ]
    )
    (folder / "nodes.yaml").write_text(nodes, encoding="utf-8")
    (folder / "queues.yaml").write_text(QUEUES, encoding="utf-8")
    path = folder / "scenario.yaml"
    path.write_text(SCENARIO.format(workload=workload), encoding="utf-8")
    return path


def test_node_manifests_and_job_manifests(tmp_path: Path) -> None:
    (tmp_path / "jobs").mkdir()
    for i in range(3):
        (tmp_path / "jobs" / f"job-{i}.yaml").write_text(JOB.format(i=i), encoding="utf-8")
    twin = load_twin(write(tmp_path, "manifests: [jobs]"))
    base, cheap = twin.variants
    assert [(p.name, p.nodes, p.gpus, p.spot) for p in base.pools] == [
        ("l4", 2, 8, False),
        ("Tesla-T4", 1, 4, True),
    ]
    assert next(p.price for p in cheap.pools if p.name == "l4") == 0.1
    assert [w.key for w in base.workloads] == ["team/train-0", "team/train-1", "team/train-2"]
    result = run_variant(base)
    # Three 2-pod gangs of 2 GPUs on 12 GPUs: all run at once, each for 30 minutes.
    assert result.report.finished == 3
    assert result.report.gpu_hours_used == 3 * 4 * 0.5


def test_an_openb_trace(tmp_path: Path) -> None:
    rows = ["name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,"
            "creation_time,deletion_time,scheduled_time"]
    rows += [f"task-{i},1000,1024,1,500,,LS,Succeeded,{60 * i},{60 * i + 600},{60 * i}"
             for i in range(5)]
    (tmp_path / "pods.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    queues = QUEUES + """---
apiVersion: kueue.x-k8s.io/v1beta1
kind: LocalQueue
metadata: {name: train, namespace: openb}
spec: {clusterQueue: train}
"""
    path = write(tmp_path, "trace: {openb: pods.csv, queue: train, limit: 4}")
    (tmp_path / "queues.yaml").write_text(queues, encoding="utf-8")
    twin = load_twin(path)
    workloads = twin.variants[0].workloads
    assert [w.duration for w in workloads] == [600.0] * 4
    assert [w.created for w in workloads] == [0.0, 60.0, 120.0, 180.0]
