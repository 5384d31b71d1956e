"""A tiny `gpuplane simulate` scenario for tests: 5 nodes, two queues, ~60 workloads, 3 variants."""

from __future__ import annotations

from pathlib import Path

QUEUES = """\
apiVersion: kueue.x-k8s.io/v1beta1
kind: ResourceFlavor
metadata: {name: default-flavor}
---
apiVersion: kueue.x-k8s.io/v1beta1
kind: WorkloadPriorityClass
metadata: {name: high}
value: 1000
---
apiVersion: kueue.x-k8s.io/v1beta1
kind: ClusterQueue
metadata: {name: train}
spec:
  cohort: org
  namespaceSelector: {}
  preemption: {reclaimWithinCohort: Any}
  resourceGroups:
    - coveredResources: [cpu, memory, nvidia.com/gpu]
      flavors:
        - name: default-flavor
          resources:
            - {name: cpu, nominalQuota: "500"}
            - {name: memory, nominalQuota: 4Ti}
            - {name: nvidia.com/gpu, nominalQuota: 8}
---
apiVersion: kueue.x-k8s.io/v1beta1
kind: ClusterQueue
metadata: {name: serve}
spec:
  cohort: org
  namespaceSelector: {}
  resourceGroups:
    - coveredResources: [cpu, memory, nvidia.com/gpu]
      flavors:
        - name: default-flavor
          resources:
            - {name: cpu, nominalQuota: "500"}
            - {name: memory, nominalQuota: 4Ti}
            - {name: nvidia.com/gpu, nominalQuota: 40}
---
apiVersion: kueue.x-k8s.io/v1beta1
kind: LocalQueue
metadata: {name: train, namespace: team}
spec: {clusterQueue: train}
---
apiVersion: kueue.x-k8s.io/v1beta1
kind: LocalQueue
metadata: {name: serve, namespace: team}
spec: {clusterQueue: serve}
"""

SCENARIO = """\
name: tiny
description: a tiny scenario for tests
seed: 3
horizon: 6h
cluster:
  nodePools:
    - name: a100
      count: 1
      cpu: "96"
      memory: 1000Gi
      gpu: {model: NVIDIA-A100-SXM4-80GB, count: 8}
      labels: {role: train}
      taints: [{key: nvidia.com/gpu, value: present, effect: NoSchedule}]
    - name: l4
      count: 3
      cpu: "48"
      memory: 192Gi
      gpu: {model: L4, count: 4}
      labels: {role: serve}
      taints: [{key: nvidia.com/gpu, value: present, effect: NoSchedule}]
    - name: cpu
      count: 1
      cpu: "16"
      memory: 64Gi
queues: [queues.yaml]
workload:
  kinds:
    train:
      gpus: [1, 2, 4]
      duration: {median: 1h, sigma: 0.5}
      checkpointInterval: 20m
      nodeSelector: {role: train}
      tolerations: [{key: nvidia.com/gpu, operator: Exists}]
      utilization: 0.5
    notebook:
      gpus: 1
      cpu: "2"
      memory: 8Gi
      duration: {median: 1h, sigma: 0.5}
      priorityClass: high
      nodeSelector: {role: serve}
      tolerations: [{key: nvidia.com/gpu, operator: Exists}]
      utilization: 0.5
  arrivals:
    - name: day
      count: 60
      ratePerHour: 15
      teams:
        - {namespace: team, queue: train, weight: 1, kinds: {train: 1}}
        - {namespace: team, queue: serve, weight: 2, kinds: {notebook: 1}}
spot: {interruptionsPerNodeDay: 4, replacedAfter: 10m}
variants:
  - name: exclusive
    description: whole GPUs
  - name: shared
    description: L4s time-sliced
    cluster:
      nodePools:
        - {name: l4, sharing: {mode: time-slicing, replicas: 4}}
  - name: spot
    placement: fgd
    cluster:
      nodePools:
        - {name: a100, capacityType: spot}
    prices:
      onDemand: {L4: 1.0}
"""


def tiny_scenario(folder: Path, scenario: str = SCENARIO) -> Path:
    """Write the tiny scenario (or a variation of its text) and its queues; returns its path."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "queues.yaml").write_text(QUEUES, encoding="utf-8")
    path = folder / "scenario.yaml"
    path.write_text(scenario, encoding="utf-8")
    return path
