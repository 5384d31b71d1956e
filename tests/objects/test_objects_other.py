"""Reading Nodes, Jobs, PriorityClasses, ResourceQuotas and device plugin ConfigMaps."""

from __future__ import annotations

import pytest

from gpuplane.errors import ManifestError, QuantityError
from gpuplane.objects import GpuKind, Taint, TaintEffect, read_text
from gpuplane.sharing import DevicePluginConfig, ReplicatedResource, SharingConfig

from helpers import fails, line

# --- Node -------------------------------------------------------------------------------------

NODE = """\
apiVersion: v1
kind: Node
metadata:
  name: gpu-1
  labels:
    nvidia.com/gpu.product: NVIDIA-A100-SXM4-80GB
    nvidia.com/gpu.memory: "81920"
spec:
  unschedulable: true
  taints:
  - {key: nvidia.com/gpu, value: present, effect: NoSchedule}
status:
  capacity: {cpu: "64", memory: 512Gi, nvidia.com/gpu: "8", pods: "110"}
  allocatable:
    cpu: 63500m
    memory: 503316479Ki
    pods: "250"
    nvidia.com/gpu: "8"
    nvidia.com/mig-1g.10gb: "0"
    rdma/ib: "4"
    ephemeral-storage: 100Gi
"""


def test_node_reads_allocatable_rounded_down_with_gpu_labels_and_taints() -> None:
    (node,) = read_text(NODE, "node.yaml").nodes
    assert (node.name, node.cpu_milli, node.pods, node.gpu_count) == ("gpu-1", 63500, 250, 8)
    # 503316479Ki is 491520 MiB less 1 KiB: capacity rounds down.
    assert node.memory_mib == 491519
    assert node.gpu_model == "NVIDIA-A100-SXM4-80GB" and node.gpu_memory_mib == 81920
    assert node.extended == {"nvidia.com/mig-1g.10gb": 0, "rdma/ib": 4}
    assert node.taints == (Taint("nvidia.com/gpu", "present", TaintEffect.NO_SCHEDULE),)
    assert node.unschedulable
    assert node.source.line == 1


def test_node_falls_back_to_capacity() -> None:
    text = NODE[: NODE.index("  allocatable:")]
    (node,) = read_text(text, "node.yaml").nodes
    assert (node.cpu_milli, node.memory_mib, node.gpu_count, node.pods) == (64000, 524288, 8, 110)


def test_node_without_status_offers_nothing_and_says_so() -> None:
    manifests = read_text("apiVersion: v1\nkind: Node\nmetadata: {name: bare}\n", "n.yaml")
    assert manifests.nodes[0].cpu_milli == 0
    assert manifests.warnings == [
        "n.yaml:1: node bare has no status.allocatable or status.capacity; it offers nothing"
    ]


def test_node_errors_are_located() -> None:
    err = fails(NODE.replace('"81920"', "80GB"), "node.yaml")
    assert (
        "node.yaml:7: metadata.labels.nvidia.com/gpu.memory: must be the GPU memory in MiB"
        in str(err)
    )
    err = fails(NODE.replace('rdma/ib: "4"', "rdma/ib: 1.5"), "node.yaml")
    assert isinstance(err, QuantityError)
    assert "node.yaml:20: status.allocatable.rdma/ib" in str(err)
    err = fails(NODE.replace(", effect: NoSchedule", ""), "node.yaml")
    assert "node.yaml:11: spec.taints[0].effect: required value" in str(err)


# --- Job --------------------------------------------------------------------------------------

JOB = """\
apiVersion: batch/v1
kind: Job
metadata:
  name: train
  namespace: ml
  labels: {team: a}
spec:
  parallelism: 4
  completions: 3
  template:
    metadata:
      annotations: {gpu-fraction: "0.25"}
    spec:
      restartPolicy: Never
      containers:
      - name: worker
        resources:
          limits: {cpu: 2, memory: 4Gi}
"""


def test_job_reads_counts_and_template_and_expands_to_active_pods() -> None:
    (job,) = read_text(JOB, "job.yaml").jobs
    assert (job.name, job.namespace, job.parallelism, job.completions) == ("train", "ml", 4, 3)
    assert job.completion_mode == "NonIndexed" and job.labels == {"team": "a"}
    assert job.template.gpu.kind is GpuKind.FRACTION and job.template.gpu.milli == 250
    assert (job.template.cpu_milli, job.template.memory_mib) == (2000, 4096)
    pods = job.active_pods()
    assert [p.key for p in pods] == ["ml/train-0", "ml/train-1", "ml/train-2"]
    assert {p.owner for p in pods} == {"train"}


def test_job_defaults_parallelism_1_and_leaves_completions_unset() -> None:
    text = JOB.replace("  parallelism: 4\n  completions: 3\n", "")
    (job,) = read_text(text, "job.yaml").jobs
    assert (job.parallelism, job.completions) == (1, None)
    assert len(job.active_pods()) == 1


def test_job_rules() -> None:
    err = fails(
        JOB.replace("completions: 3", "completions: 3\n  completionMode: Indexed\n  x: 1").replace(
            "  completions: 3\n", ""
        ),
        "job.yaml",
    )
    assert "spec.completions: required value when completionMode is Indexed" in str(err)
    err = fails(JOB.replace("parallelism: 4", "parallelism: -1"), "job.yaml")
    assert "job.yaml:8: spec.parallelism: must be greater than or equal to 0" in str(err)
    err = fails(JOB.replace("restartPolicy: Never", "restartPolicy: Always"), "job.yaml")
    assert "job.yaml:14: spec.template.spec.restartPolicy: unsupported value 'Always'" in str(err)
    err = fails(JOB.replace("memory: 4Gi", "memory: 4Gi, nvidia.com/gpu: 1"), "job.yaml")
    assert "job.yaml:12: spec.template.metadata.annotations.gpu-fraction" in str(err)


def test_job_without_restart_policy_is_a_warning() -> None:
    manifests = read_text(JOB.replace("      restartPolicy: Never\n", ""), "job.yaml")
    assert len(manifests.jobs) == 1
    (warning,) = manifests.warnings
    assert warning.startswith("job.yaml:13: a Job's pods need restartPolicy OnFailure or Never")


# --- PriorityClass and ResourceQuota ----------------------------------------------------------


def test_priority_class() -> None:
    text = """\
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: high}
value: 100000
globalDefault: false
preemptionPolicy: Never
description: training that must not wait
"""
    (pc,) = read_text(text, "pc.yaml").priority_classes
    assert (pc.name, pc.value, pc.preemption_policy, pc.global_default) == (
        "high",
        100000,
        "Never",
        False,
    )
    err = fails(text.replace("value: 100000\n", ""), "pc.yaml")
    assert "pc.yaml:1: value: required value" in str(err)
    err = fails(text.replace("100000", "2000000000"), "pc.yaml")
    assert "pc.yaml:4: value: maximum allowed value of a user defined priority" in str(err)
    err = fails(text.replace("Never", "Sometimes"), "pc.yaml")
    assert "pc.yaml:6: preemptionPolicy: unsupported value 'Sometimes'" in str(err)


def test_resource_quota_in_brain_units() -> None:
    text = """\
apiVersion: v1
kind: ResourceQuota
metadata: {name: team-a, namespace: team-a}
spec:
  hard:
    requests.cpu: "100"
    limits.cpu: 200500m
    requests.memory: 1Ti
    pods: "50"
    requests.nvidia.com/gpu: "16"
    count/jobs.batch: "10"
"""
    (quota,) = read_text(text, "q.yaml").resource_quotas
    assert quota.namespace == "team-a"
    assert quota.hard == {
        "requests.cpu": 100000,
        "limits.cpu": 200500,
        "requests.memory": 1048576,
        "pods": 50,
        "requests.nvidia.com/gpu": 16,
        "count/jobs.batch": 10,
    }
    err = fails(text.replace('"16"', "1.5"), "q.yaml")
    assert isinstance(err, QuantityError)
    assert "q.yaml:10: spec.hard.requests.nvidia.com/gpu" in str(err)


# --- device plugin ConfigMap ------------------------------------------------------------------

CONFIGMAP = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: device-plugin-config
  namespace: gpu-operator
data:
  any: |-
    version: v1
    flags:
      migStrategy: none
    sharing:
      timeSlicing:
        renameByDefault: true
        failRequestsGreaterThanOne: true
        resources:
        - name: nvidia.com/gpu
          replicas: 4
  mps: |
    version: v1
    sharing:
      mps:
        resources:
        - name: nvidia.com/gpu
          replicas: 2
          devices: [0, "1"]
  a100: |
    version: v1
    flags: {migStrategy: mixed}
"""


def test_device_plugin_configmap() -> None:
    (cm,) = read_text(CONFIGMAP, "cm.yaml").device_plugin_configs
    assert (cm.name, cm.namespace, cm.source.line) == ("device-plugin-config", "gpu-operator", 1)
    assert cm.configs["any"] == DevicePluginConfig(
        name="any",
        mig_strategy="none",
        time_slicing=SharingConfig(
            resources=(ReplicatedResource("nvidia.com/gpu", 4, rename="nvidia.com/gpu.shared"),),
            rename_by_default=True,
            fail_requests_greater_than_one=True,
        ),
    )
    mps = cm.configs["mps"].mps
    assert mps is not None and mps.fail_requests_greater_than_one
    # The plugin ignores `devices` when it loads a config, and says so.
    assert mps.resources == (ReplicatedResource("nvidia.com/gpu", 2),)
    assert any("'devices' is not supported" in w for w in cm.configs["mps"].warnings)
    assert cm.configs["a100"] == DevicePluginConfig(name="a100", mig_strategy="mixed")


@pytest.mark.parametrize(
    ("old", "new", "needle", "message"),
    [
        ("replicas: 4", "replicas: 0", "replicas: 0", "number of replicas must be >= 2"),
        ("replicas: 2", "replicas: 1", "replicas: 1", "number of replicas must be >= 2"),
        ("migStrategy: none", "migStrategy: some", "migStrategy: some", "unsupported migStrategy"),
        ('devices: [0, "1"]', "devices: some", "devices: some", "only valid string input is 'all'"),
        ('devices: [0, "1"]', 'devices: ["x"]', 'devices: ["x"]', "unsupported device 'x'"),
        ("flags: {migStrategy: mixed}", "flags: a: b", "flags: a: b", "invalid YAML"),
    ],
)
def test_device_plugin_config_errors_are_located_inside_the_configmap(
    old: str, new: str, needle: str, message: str
) -> None:
    text = CONFIGMAP.replace(old, new)
    err = fails(text, "cm.yaml")
    assert message in str(err)
    assert f"cm.yaml:{line(text, needle)}: data." in str(err)


def test_replicas_are_required_and_resources_too() -> None:
    err = fails(CONFIGMAP.replace("          replicas: 4\n", ""), "cm.yaml")
    assert "data.any.sharing.timeSlicing.resources[0].replicas: no replicas specified" in str(err)
    text = CONFIGMAP.replace(
        "        resources:\n        - name: nvidia.com/gpu\n          replicas: 4\n", ""
    )
    assert "no resources specified" in str(fails(text, "cm.yaml"))


def test_other_configmaps_are_skipped_with_a_warning() -> None:
    text = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: app-settings}
data:
  settings.yaml: |
    version: v1
    debug: true
  script.sh: "echo: [unclosed"
"""
    manifests = read_text(text, "cm.yaml")
    assert manifests.device_plugin_configs == []
    assert manifests.warnings == [
        "cm.yaml:1: ConfigMap app-settings is not a device plugin config; skipped"
    ]


def test_a_device_plugin_configmap_may_not_hold_other_values() -> None:
    text = CONFIGMAP + "  notes: just words\n"
    err = fails(text, "cm.yaml")
    assert isinstance(err, ManifestError)
    assert f"cm.yaml:{line(text, 'notes')}: data.notes: a document must be a mapping" in str(err)


def test_workloads_keep_pods_and_jobs_in_file_order() -> None:
    pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: solo}\nspec: {containers: [{name: c}]}\n"
    manifests = read_text(JOB + "---\n" + pod, "w.yaml")
    assert [w.name for w in manifests.workloads] == ["train", "solo"]
    assert manifests.workloads == [manifests.jobs[0], manifests.pods[0]]
