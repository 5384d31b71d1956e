"""Reading pods: effective requests, Kubernetes' extended-resource rules, the GPU request model."""

from __future__ import annotations

import textwrap

import pytest

from gpuplane.errors import InputError, ManifestError, QuantityError
from gpuplane.objects import (
    GpuKind,
    GpuRequest,
    NodeSelectorRequirement,
    NodeSelectorTerm,
    Pod,
    SelectorOperator,
    TaintEffect,
    Toleration,
    read_text,
)

from helpers import line

HEAD = """\
apiVersion: v1
kind: Pod
metadata:
  name: p
"""


def pod_text(spec: str, metadata: str = "") -> str:
    """A Pod manifest: HEAD, extra metadata lines (indented 2), then spec (indented 2)."""
    meta = textwrap.indent(textwrap.dedent(metadata), "  ") if metadata else ""
    return HEAD + meta + "spec:\n" + textwrap.indent(textwrap.dedent(spec), "  ")


def read_pod(spec: str, metadata: str = "") -> Pod:
    (pod,) = read_text(pod_text(spec, metadata), "pod.yaml").pods
    return pod


def error(spec: str, metadata: str = "") -> tuple[InputError, str]:
    """The error reading a pod raises, and the manifest text (to find lines in)."""
    text = pod_text(spec, metadata)
    with pytest.raises(InputError) as err:
        read_text(text, "pod.yaml")
    return err.value, text



def one_container(resources: str) -> str:
    body = textwrap.indent(textwrap.dedent(resources), "      ")
    return "containers:\n- name: main\n  resources:\n" + body


# --- effective requests ---------------------------------------------------------------------


def test_requests_default_to_limits_and_units_are_integers() -> None:
    pod = read_pod(
        one_container("""\
        limits:
          cpu: 1500m
          memory: 1.5Gi
          example.com/nic: 2
        """)
    )
    assert (pod.cpu_milli, pod.memory_mib) == (1500, 1536)
    assert pod.extended == {"example.com/nic": 2}
    assert pod.gpu == GpuRequest()


def test_requests_below_limits_are_what_counts() -> None:
    pod = read_pod(
        one_container("""\
        requests: {cpu: 250m, memory: 100M}
        limits: {cpu: 2, memory: 1Gi}
        """)
    )
    # 100M bytes is 95.37 MiB: requests round up.
    assert (pod.cpu_milli, pod.memory_mib) == (250, 96)


def test_containers_add_up_and_init_containers_take_the_max() -> None:
    pod = read_pod("""\
    initContainers:
    - name: big-init
      resources: {requests: {cpu: 3, memory: 64Mi}}
    - name: small-init
      resources: {requests: {cpu: 100m, memory: 4Gi}}
    containers:
    - name: a
      resources: {requests: {cpu: 1, memory: 1Gi}}
    - name: b
      resources: {requests: {cpu: 500m, memory: 512Mi}}
    """)
    assert (pod.cpu_milli, pod.memory_mib) == (3000, 4096)


def test_sidecars_add_to_the_app_and_to_later_init_containers() -> None:
    pod = read_pod("""\
    initContainers:
    - name: proxy
      restartPolicy: Always
      resources: {requests: {cpu: 1}}
    - name: migrate
      resources: {requests: {cpu: 2500m}}
    containers:
    - name: app
      resources: {requests: {cpu: 1}}
    overhead: {cpu: 250m, memory: 10Mi}
    """)
    # init phase: 1 (sidecar) + 2.5 = 3.5; run phase: 1 + 1 = 2; plus overhead.
    assert pod.cpu_milli == 3750
    assert pod.memory_mib == 10


def test_init_container_gpus_take_the_max_too() -> None:
    pod = read_pod("""\
    initContainers:
    - name: warmup
      resources: {limits: {nvidia.com/gpu: 4}}
    containers:
    - {name: a, resources: {limits: {nvidia.com/gpu: 1}}}
    - {name: b, resources: {limits: {nvidia.com/gpu: 2}}}
    """)
    assert pod.gpu == GpuRequest(GpuKind.WHOLE, 4, 1000, resource="nvidia.com/gpu")


def test_pod_fields_are_read() -> None:
    pod = read_pod(
        """\
        nodeName: n1
        priorityClassName: high
        priority: 1000
        schedulerName: gpuplane
        nodeSelector: {nvidia.com/gpu.product: NVIDIA-A100-SXM4-80GB}
        containers: [{name: c}]
        """,
        metadata="""\
        namespace: team-a
        labels: {app: train}
        annotations: {note: hi}
        """,
    )
    assert pod.key == "team-a/p"
    assert pod.labels == {"app": "train"} and pod.annotations == {"note": "hi"}
    assert pod.node_selector == {"nvidia.com/gpu.product": "NVIDIA-A100-SXM4-80GB"}
    assert (pod.node_name, pod.priority_class_name, pod.priority) == ("n1", "high", 1000)
    assert pod.scheduler_name == "gpuplane"


def test_a_pod_needs_a_name_and_a_container() -> None:
    with pytest.raises(ManifestError, match=r"pod\.yaml:3: metadata\.name: required value"):
        read_text("apiVersion: v1\nkind: Pod\nmetadata: {}\nspec: {containers: [{}]}\n", "pod.yaml")
    err, _ = error("containers: []\n")
    assert "spec.containers: required value" in str(err)


# --- Kubernetes' rules for resources ---------------------------------------------------------


def test_extended_resource_in_requests_only_is_refused_like_kubernetes() -> None:
    err, text = error(one_container("requests:\n  nvidia.com/gpu: 1\n"))
    assert isinstance(err, ManifestError)
    assert f"pod.yaml:{line(text, 'nvidia.com/gpu: 1')}" in str(err)
    assert "spec.containers[0].resources.limits.nvidia.com/gpu" in str(err)
    assert "limit must be set for non-overcommitable resources" in str(err)


def test_extended_request_must_equal_its_limit() -> None:
    err, text = error(
        one_container("""\
        requests:
          example.com/fpga: 1
        limits:
          example.com/fpga: 2
        """)
    )
    assert f"pod.yaml:{line(text, 'fpga: 1')}" in str(err)
    assert "spec.containers[0].resources.requests.example.com/fpga" in str(err)
    assert "must be equal to example.com/fpga limit of 2" in str(err)


@pytest.mark.parametrize("value", ["0.5", "500m", '"1.5"'])
def test_fractional_gpus_are_refused_with_a_hint(value: str) -> None:
    err, text = error(one_container(f"limits:\n  nvidia.com/gpu: {value}\n"))
    assert isinstance(err, ManifestError)
    message = str(err)
    assert f"pod.yaml:{line(text, 'nvidia.com/gpu:')}" in message
    assert "spec.containers[0].resources.limits.nvidia.com/gpu: must be an integer" in message
    assert err.hint is not None and "nvidia.com/mig-1g.10gb" in err.hint


@pytest.mark.parametrize(
    ("value", "problem"), [("-1", "-1 must not be negative"), ("lots", "not a quantity")]
)
def test_negative_or_non_numeric_quantities_are_quantity_errors(value: str, problem: str) -> None:
    for resource in ("cpu", "memory", "nvidia.com/gpu"):
        err, text = error(one_container(f"limits:\n  {resource}: {value}\n"))
        assert isinstance(err, QuantityError)
        assert f"pod.yaml:{line(text, resource + ':')}" in str(err)
        assert f"spec.containers[0].resources.limits.{resource}" in str(err)
        assert problem in str(err)


def test_cpu_request_above_its_limit_is_refused() -> None:
    err, _ = error(one_container("requests: {cpu: 2}\nlimits: {cpu: 1}\n"))
    assert (
        "spec.containers[0].resources.requests.cpu: must be less than or equal to cpu limit of 1"
        in str(err)
    )


def test_unqualified_unknown_resource_names_are_refused() -> None:
    err, text = error(one_container("limits:\n  gpu: 1\n"))
    assert f"pod.yaml:{line(text, 'gpu: 1')}" in str(err)
    assert "'gpu' is not a resource name" in str(err)


def test_native_resources_are_checked_but_not_modelled() -> None:
    pod = read_pod(one_container("limits: {ephemeral-storage: 1Gi, hugepages-2Mi: 100Mi}\n"))
    assert pod.extended == {}
    err, _ = error(one_container("limits: {ephemeral-storage: -1Gi}\n"))
    assert isinstance(err, QuantityError)


def test_init_container_restart_policy_is_always_or_nothing() -> None:
    err, _ = error("initContainers: [{name: i, restartPolicy: Never}]\ncontainers: [{name: c}]\n")
    assert "spec.initContainers[0].restartPolicy: unsupported value 'Never'" in str(err)


# --- GPU request model ------------------------------------------------------------------------


def test_whole_gpus() -> None:
    pod = read_pod(one_container("limits: {nvidia.com/gpu: 2}\nrequests: {nvidia.com/gpu: 2}\n"))
    assert pod.gpu == GpuRequest(GpuKind.WHOLE, 2, 1000, resource="nvidia.com/gpu")
    assert pod.gpu.total_milli == 2000 and pod.extended == {}


def test_zero_gpus_is_no_gpu() -> None:
    assert not read_pod(one_container("limits: {nvidia.com/gpu: 0}\n")).gpu.wants_gpu


def test_hami_cores_and_memory_make_a_fraction() -> None:
    pod = read_pod(
        one_container("""\
        limits:
          nvidia.com/gpu: 2
          nvidia.com/gpumem: 3000
          nvidia.com/gpucores: 30
        """)
    )
    assert pod.gpu == GpuRequest(
        GpuKind.FRACTION, count=2, milli=300, memory_mib=3000, resource="nvidia.com/gpu"
    )
    assert pod.extended == {}


def test_hami_memory_percentage_alone_defaults_to_one_gpu() -> None:
    pod = read_pod(one_container("limits: {nvidia.com/gpumem-percentage: 25}\n"))
    assert pod.gpu == GpuRequest(
        GpuKind.FRACTION, count=1, milli=0, memory_percent=25, resource="nvidia.com/gpu"
    )


@pytest.mark.parametrize("key", ["nvidia.com/gpucores", "nvidia.com/gpumem-percentage"])
def test_hami_percentages_are_at_most_100(key: str) -> None:
    err, text = error(one_container(f"limits:\n  nvidia.com/gpu: 1\n  {key}: 120\n"))
    assert f"pod.yaml:{line(text, key + ':')}" in str(err)
    assert f"spec.containers[0].resources.limits.{key}: must be a percentage from 0 to 100" in str(
        err
    )


def test_hami_memory_is_named_once() -> None:
    err, _ = error(
        one_container("limits:\n  nvidia.com/gpumem: 1000\n  nvidia.com/gpumem-percentage: 10\n")
    )
    assert "name GPU memory once" in str(err)


def test_hami_memory_must_be_whole_mib() -> None:
    err, _ = error(one_container("limits:\n  nvidia.com/gpu: 1\n  nvidia.com/gpumem: 1.5\n"))
    assert "limits.nvidia.com/gpumem: must be an integer" in str(err)


@pytest.mark.parametrize(
    ("resource", "profile"),
    [
        ("nvidia.com/mig-1g.10gb", "1g.10gb"),
        ("nvidia.com/mig-3g.40gb", "3g.40gb"),
        ("nvidia.com/mig-1g.10gb+me", "1g.10gb+me"),
        ("nvidia.com/mig-1c.2g.20gb", "1c.2g.20gb"),
    ],
)
def test_mig_profiles(resource: str, profile: str) -> None:
    pod = read_pod(one_container(f"limits: {{{resource}: 2}}\n"))
    assert pod.gpu == GpuRequest(GpuKind.MIG, 2, 0, mig_profile=profile, resource=resource)
    assert pod.gpu.describe() == f"2 x mig-{profile}"


@pytest.mark.parametrize("resource", ["nvidia.com/gpu.shared", "nvidia.com/mig-1g.10gb.shared"])
def test_shared_replicas(resource: str) -> None:
    pod = read_pod(one_container(f"limits: {{{resource}: 1}}\n"))
    assert pod.gpu == GpuRequest(GpuKind.SHARED, 1, 0, resource=resource)


def test_containers_asking_the_same_way_add_up() -> None:
    pod = read_pod("""\
    containers:
    - {name: a, resources: {limits: {nvidia.com/mig-1g.10gb: 1}}}
    - {name: b, resources: {limits: {nvidia.com/mig-1g.10gb: 2}}}
    """)
    assert (pod.gpu.kind, pod.gpu.count) == (GpuKind.MIG, 3)


def test_mixing_gpu_kinds_in_a_pod_is_refused() -> None:
    err, text = error("""\
    containers:
    - name: a
      resources: {limits: {nvidia.com/gpu: 1}}
    - name: b
      resources:
        limits:
          nvidia.com/mig-1g.10gb: 1
    """)
    assert isinstance(err, ManifestError)
    message = str(err)
    assert f"pod.yaml:{line(text, 'mig-1g.10gb: 1')}" in message
    assert "ask for GPUs one way per pod" in message
    assert "spec.containers[0] asks for whole GPUs (nvidia.com/gpu)" in message
    assert "spec.containers[1] for a MIG slice (nvidia.com/mig-1g.10gb)" in message


def test_mixing_kinds_within_one_container_is_refused() -> None:
    err, _ = error(one_container("limits: {nvidia.com/gpu: 1, nvidia.com/gpu.shared: 1}\n"))
    assert "ask for GPUs one way per pod" in str(err)


def test_different_mig_profiles_in_one_pod_are_refused() -> None:
    err, _ = error("""\
    containers:
    - {name: a, resources: {limits: {nvidia.com/mig-1g.10gb: 1}}}
    - {name: b, resources: {limits: {nvidia.com/mig-2g.20gb: 1}}}
    """)
    assert "ask for GPUs one way per pod" in str(err)
    assert "1 x mig-1g.10gb" in str(err) and "1 x mig-2g.20gb" in str(err)


def test_kai_gpu_fraction_annotation() -> None:
    pod = read_pod("containers: [{name: c}]\n", metadata='annotations: {gpu-fraction: "0.5"}\n')
    assert pod.gpu == GpuRequest(GpuKind.FRACTION, 1, 500, resource="gpu-fraction")


def test_kai_gpu_memory_annotation() -> None:
    pod = read_pod("containers: [{name: c}]\n", metadata='annotations: {gpu-memory: "2000"}\n')
    assert pod.gpu == GpuRequest(GpuKind.FRACTION, 1, 0, memory_mib=2000, resource="gpu-memory")


@pytest.mark.parametrize("value", ['"0"', '"1.5"', '"-0.5"'])
def test_kai_fraction_must_be_in_zero_to_one(value: str) -> None:
    err, text = error(
        "containers: [{name: c}]\n", metadata=f"annotations:\n  gpu-fraction: {value}\n"
    )
    assert f"pod.yaml:{line(text, 'gpu-fraction')}" in str(err)
    assert "metadata.annotations.gpu-fraction" in str(err)
    assert "must be more than 0 and at most 1" in str(err)


def test_kai_annotations_must_be_strings_and_numbers() -> None:
    err, _ = error("containers: [{name: c}]\n", metadata="annotations:\n  gpu-fraction: 0.5\n")
    assert 'must be a string, got the number 0.5\n  hint: quote it: "0.5"' in str(err)
    err, _ = error("containers: [{name: c}]\n", metadata="annotations:\n  gpu-fraction: half\n")
    assert isinstance(err, QuantityError)
    err, _ = error("containers: [{name: c}]\n", metadata="annotations:\n  gpu-memory: 2Gi\n")
    assert isinstance(err, QuantityError) and "whole number of MiB" in str(err)


def test_kai_annotation_with_gpu_limits_is_refused() -> None:
    err, text = error(
        one_container("limits: {nvidia.com/gpu: 1}\n"),
        metadata='annotations:\n  gpu-fraction: "0.5"\n',
    )
    assert f"pod.yaml:{line(text, 'gpu-fraction')}" in str(err)
    assert "asks for GPUs twice" in str(err)
    err, _ = error(
        one_container("limits: {nvidia.com/mig-1g.10gb: 1}\n"),
        metadata='annotations:\n  gpu-memory: "100"\n',
    )
    assert "ask for GPUs one way per pod" in str(err)


# --- where a pod may run ----------------------------------------------------------------------


def test_node_affinity_and_tolerations() -> None:
    pod = read_pod("""\
    containers: [{name: c}]
    affinity:
      nodeAffinity:
        requiredDuringSchedulingIgnoredDuringExecution:
          nodeSelectorTerms:
          - matchExpressions:
            - {key: nvidia.com/gpu.count, operator: Gt, values: ["3"]}
            - {key: zone, operator: In, values: [a, b]}
            matchFields:
            - {key: metadata.name, operator: NotIn, values: [bad-node]}
          - matchExpressions:
            - {key: spot, operator: DoesNotExist}
        preferredDuringSchedulingIgnoredDuringExecution:
        - weight: 20
          preference:
            matchExpressions: [{key: tier, operator: Exists}]
    tolerations:
    - {key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}
    - {key: dedicated, value: ml}
    - {operator: Exists}
    - {key: flaky, operator: Exists, effect: NoExecute, tolerationSeconds: 30}
    """)
    required = pod.affinity.required
    assert required is not None and len(required) == 2
    assert required[0].match_expressions[0] == NodeSelectorRequirement(
        "nvidia.com/gpu.count", SelectorOperator.GT, ("3",)
    )
    assert required[0].match_fields[0].values == ("bad-node",)
    assert pod.affinity.preferred == (
        (20, NodeSelectorTerm((NodeSelectorRequirement("tier", SelectorOperator.EXISTS),))),
    )
    assert pod.tolerations == (
        Toleration("nvidia.com/gpu", "Exists", "", TaintEffect.NO_SCHEDULE),
        Toleration("dedicated", "Equal", "ml", None),
        Toleration("", "Exists"),
        Toleration("flaky", "Exists", "", TaintEffect.NO_EXECUTE, 30),
    )
    assert pod.affinity.matches("n1", {"nvidia.com/gpu.count": "8", "zone": "a"})


def _affinity_error(requirement: str) -> tuple[InputError, str]:
    return error(f"""\
    containers: [{{name: c}}]
    affinity:
      nodeAffinity:
        requiredDuringSchedulingIgnoredDuringExecution:
          nodeSelectorTerms:
          - matchExpressions:
            - {requirement}
    """)


@pytest.mark.parametrize(
    ("requirement", "field", "message"),
    [
        ("{key: a, operator: Near}", "operator", "not a valid selector operator 'Near'"),
        (
            "{key: a, operator: In}",
            "values",
            "must be specified when `operator` is 'In' or 'NotIn'",
        ),
        ("{key: a, operator: NotIn, values: []}", "values", "must be specified when"),
        ("{key: a, operator: Exists, values: [x]}", "values", "may not be specified when"),
        ("{key: a, operator: Gt, values: ['1', '2']}", "values", "must be specified single value"),
        ("{key: a, operator: Lt, values: [many]}", "values[0]", "must be an integer"),
        ("{operator: Exists}", "key", "required value"),
    ],
)
def test_selector_requirements_are_validated(requirement: str, field: str, message: str) -> None:
    err, text = _affinity_error(requirement)
    path = "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"
    assert f"pod.yaml:{line(text, requirement)}" in str(err)
    assert f"{path}.nodeSelectorTerms[0].matchExpressions[0].{field}" in str(err)
    assert message in str(err)


def test_match_fields_support_only_metadata_name_with_one_value() -> None:
    base = "containers: [{name: c}]\naffinity:\n  nodeAffinity:\n"
    base += "    requiredDuringSchedulingIgnoredDuringExecution:\n      nodeSelectorTerms:\n"
    err, _ = error(base + "      - matchFields: [{key: metadata.uid, operator: In, values: [x]}]\n")
    assert "not a valid field selector key" in str(err)
    err, _ = error(
        base + "      - matchFields: [{key: metadata.name, operator: In, values: [x, y]}]\n"
    )
    assert "must be only one value" in str(err)
    err, _ = error(base.replace("      nodeSelectorTerms:\n", "      nodeSelectorTerms: []\n"))
    assert "must have at least one node selector term" in str(err)


def test_preferred_weight_is_1_to_100() -> None:
    err, _ = error("""\
    containers: [{name: c}]
    affinity:
      nodeAffinity:
        preferredDuringSchedulingIgnoredDuringExecution:
        - {weight: 0, preference: {matchExpressions: [{key: a, operator: Exists}]}}
    """)
    assert (
        "preferredDuringSchedulingIgnoredDuringExecution[0].weight: must be in the range 1-100"
        in str(err)
    )


@pytest.mark.parametrize(
    ("toleration", "field", "message"),
    [
        (
            "{key: a, operator: Exists, value: x}",
            "value",
            "value must be empty when `operator` is 'Exists'",
        ),
        ("{key: a, operator: Like}", "operator", "unsupported operator 'Like'"),
        ("{value: x}", "operator", "operator must be Exists when `key` is empty"),
        ("{key: a, effect: Sometimes}", "effect", "unsupported effect 'Sometimes'"),
        (
            "{key: a, effect: NoSchedule, tolerationSeconds: 5}",
            "effect",
            "effect must be 'NoExecute'",
        ),
    ],
)
def test_tolerations_are_validated(toleration: str, field: str, message: str) -> None:
    err, text = error(f"containers: [{{name: c}}]\ntolerations:\n- {toleration}\n")
    assert f"pod.yaml:{line(text, toleration)}" in str(err)
    assert f"spec.tolerations[0].{field}: {message}" in str(err)


def test_pod_affinity_is_warned_about() -> None:
    text = pod_text("containers: [{name: c}]\naffinity:\n  podAntiAffinity: {}\n")
    manifests = read_text(text, "pod.yaml")
    where = f"pod.yaml:{line(text, 'podAntiAffinity')}"
    assert manifests.warnings == [f"{where}: podAntiAffinity is not modelled by gpuplane; ignored"]
