"""`gpuplane place` end to end: the table, the reasons, and bad input as exit 2 with file:line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from helpers import REPO
from helpers import run_gpuplane as gpuplane

ROOT = REPO
CLUSTER = ROOT / "examples" / "cluster.yaml"

POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: p
spec:
  tolerations: [{{key: nvidia.com/gpu, operator: Exists}}]
  containers:
    - name: c
      image: busybox
      resources:
{resources}
"""



def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def pod_with(tmp_path: Path, resources: str) -> Path:
    body = textwrap.indent(textwrap.dedent(resources), " " * 8)
    return write(tmp_path, "pod.yaml", POD.format(resources=body.rstrip("\n")))


def test_examples_place_and_explain():
    result = gpuplane("place", "--cluster", CLUSTER, ROOT / "examples" / "workloads")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "ml-research/llama-finetune-0" in out and "ml-research/llama-finetune-1" in out
    assert "a100-0" in out
    assert (
        "serving/triton-inference: 0/12 nodes are available: 4 Insufficient nvidia.com/gpu, "
        "8 node(s) had untolerated taint(s)." in out
    )
    assert "4/5 pods placed, 1 unschedulable." in out


def test_half_gpu_example_is_refused_with_the_rule():
    result = gpuplane("place", "--cluster", CLUSTER, ROOT / "examples/workloads/rejected")
    assert result.returncode == 2
    assert "half-a-gpu.yaml:20: spec.containers[0].resources.limits.nvidia.com/gpu" in result.stderr
    assert "must be an integer" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("resources", "expected"),
    [
        (
            "limits: {nvidia.com/gpu: 0.5}",
            "pod.yaml:11: spec.containers[0].resources.limits.nvidia.com/gpu: must be an integer",
        ),
        ("limits: {nvidia.com/gpu: 500m}", "must be an integer, got '500m'"),
        ("requests: {nvidia.com/gpu: 1}", "limit must be set for non-overcommitable resources"),
        (
            "requests: {nvidia.com/gpu: 1}\nlimits: {nvidia.com/gpu: 2}",
            "spec.containers[0].resources.requests.nvidia.com/gpu: "
            "must be equal to nvidia.com/gpu limit of 2",
        ),
        (
            "limits: {cpu: -1, nvidia.com/gpu: 1}",
            "spec.containers[0].resources.limits.cpu: -1 must not be negative",
        ),
        ("limits: {memory: lots}", "'lots' is not a quantity"),
    ],
)
def test_bad_resources_exit_2_with_location(tmp_path, resources, expected):
    result = gpuplane("place", "--cluster", CLUSTER, pod_with(tmp_path, resources))
    assert result.returncode == 2, result.stdout
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""  # nothing placed: all or nothing


def test_malformed_yaml_names_the_line(tmp_path):
    bad = write(tmp_path, "bad.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: [unclosed\n")
    result = gpuplane("place", "--cluster", CLUSTER, bad)
    assert result.returncode == 2
    assert "bad.yaml:" in result.stderr and "invalid YAML" in result.stderr


def test_unknown_gpu_model_in_cluster_spec(tmp_path):
    spec = write(
        tmp_path,
        "cluster.yaml",
        """\
        nodePools:
          - name: x
            count: 1
            cpu: "8"
            memory: 32Gi
            gpu: {model: NVIDIA-B300, count: 8}
        """,
    )
    pod = pod_with(tmp_path, "limits: {nvidia.com/gpu: 1}")
    result = gpuplane("place", "--cluster", spec, pod)
    assert result.returncode == 2
    assert (
        "cluster.yaml:6: nodePools[0].gpu.model: unknown GPU model 'NVIDIA-B300'" in result.stderr
    )


def test_cluster_spec_unknown_field_and_negative_quantity(tmp_path):
    spec = write(
        tmp_path,
        "cluster.yaml",
        """\
        nodePools:
          - name: x
            count: 1
            cpu: "8"
            memory: -32Gi
        """,
    )
    pod = pod_with(tmp_path, "limits: {nvidia.com/gpu: 1}")
    result = gpuplane("place", "--cluster", spec, pod)
    assert result.returncode == 2
    assert "cluster.yaml:5: nodePools[0].memory: '-32Gi' must not be negative" in result.stderr
    spec.write_text(
        "nodePools:\n  - name: x\n    count: 1\n    cpu: '8'\n    memory: 1Gi\n    gpus: 8\n"
    )
    result = gpuplane("place", "--cluster", spec, pod)
    assert result.returncode == 2
    assert "cluster.yaml:6: nodePools[0].gpus: unknown field gpus" in result.stderr
    assert "did you mean gpu?" in result.stderr
    assert "known fields here:" in result.stderr


def test_node_selector_on_a_label_no_node_has_is_a_warning(tmp_path):
    pod = write(
        tmp_path,
        "pod.yaml",
        """\
        apiVersion: v1
        kind: Pod
        metadata: {name: typo}
        spec:
          nodeSelector: {nvidia.com/gpu.prodcut: NVIDIA-A100-SXM4-80GB}
          containers: [{name: c, image: x, resources: {limits: {nvidia.com/gpu: 1}}}]
        """,
    )
    result = gpuplane("place", "--cluster", CLUSTER, pod)
    assert result.returncode == 0
    assert (
        "warning:" in result.stderr
        and "no node has the label nvidia.com/gpu.prodcut" in result.stderr
    )
    assert "didn't match Pod's node affinity/selector" in result.stdout


def test_node_manifests_as_cluster(tmp_path):
    nodes = write(
        tmp_path,
        "nodes.yaml",
        """\
        apiVersion: v1
        kind: Node
        metadata:
          name: gpu-1
          labels: {nvidia.com/gpu.product: NVIDIA-H100-80GB-HBM3}
        status:
          allocatable: {cpu: "64", memory: 512Gi, pods: "110", nvidia.com/gpu: "8"}
        """,
    )
    pod = pod_with(tmp_path, "limits: {nvidia.com/gpu: 8}")
    result = gpuplane("place", "--cluster", nodes, pod)
    assert result.returncode == 0, result.stderr
    assert "gpu-1" in result.stdout and "0, 1, 2, 3, 4, 5, 6, 7" in result.stdout


def test_unknown_policy_is_input_error(tmp_path):
    pod = pod_with(tmp_path, "limits: {nvidia.com/gpu: 1}")
    result = gpuplane("place", "--cluster", CLUSTER, "--policy", "magic", pod)
    assert result.returncode == 2 and "unknown placement policy 'magic'" in result.stderr


def test_sharing_example_places_every_mode_and_explains():
    result = gpuplane(
        "place",
        "--cluster",
        ROOT / "examples/sharing/cluster.yaml",
        ROOT / "examples/sharing/workloads",
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for mode in ("exclusive", "mig", "mps", "time-slicing", "fractional"):
        assert f" {mode} " in out
    assert "1g.10gb @ slice" in out and "replica" in out and "(300m, 8000Mi)" in out
    assert "2 replicas on GPU 1: one physical GPU, not 2" in out
    assert "failRequestsGreaterThanOne" in out
    assert "What each sharing mode isolates" in out
    assert "19/20 pods placed, 1 unschedulable." in out
