"""Reading Kueue's and Volcano's objects, quota units, durations and queueing hints on workloads."""

from __future__ import annotations

import pytest

from gpuplane.errors import InputError, Location, ManifestError, QuantityError
from gpuplane.objects import (
    BorrowWithinCohort,
    ClusterQueue,
    Preemption,
    QueueingStrategy,
    ReclaimWithinCohort,
    ResourceQuotaSpec,
    SimHints,
    Taint,
    TaintEffect,
    Toleration,
    WithinClusterQueue,
    queue_name,
    quota_amount,
    read_duration,
    read_text,
    workload_priority_class,
)
from gpuplane.objects.yamlio import Field

from helpers import fails, line


def at(text: str, needle: str, path: str, nth: int = 0) -> str:
    """The "file:line: field.path" an error about `needle`'s line must start with."""
    return f"m.yaml:{line(text, needle, nth)}: {path}"


# --- ClusterQueue -----------------------------------------------------------------------------

CQ = """\
apiVersion: kueue.x-k8s.io/v1beta1
kind: ClusterQueue
metadata:
  name: team-a
spec:
  cohort: research
  queueingStrategy: StrictFIFO
  namespaceSelector:
    matchLabels: {team: a}
  resourceGroups:
  - coveredResources: [cpu, memory]
    flavors:
    - name: default
      resources:
      - name: cpu
        nominalQuota: 64
      - name: memory
        nominalQuota: 256Gi
  - coveredResources: [nvidia.com/gpu, pods]
    flavors:
    - name: a100
      resources:
      - name: nvidia.com/gpu
        nominalQuota: "2.5"
        borrowingLimit: 4
        lendingLimit: 1
      - name: pods
        nominalQuota: 10
    - name: t4
      resources:
      - name: nvidia.com/gpu
        nominalQuota: 8
      - name: pods
        nominalQuota: 20
  preemption:
    withinClusterQueue: LowerOrNewerEqualPriority
    reclaimWithinCohort: Any
    borrowWithinCohort:
      policy: LowerPriority
      maxPriorityThreshold: 100
  fairSharing:
    weight: 1500m
"""


def test_cluster_queue_reads_every_field_in_brain_units() -> None:
    manifests = read_text(CQ, "cq.yaml")
    (queue,) = manifests.cluster_queues
    assert manifests.warnings == []
    assert (queue.name, queue.cohort) == ("team-a", "research")
    assert queue.queueing_strategy is QueueingStrategy.STRICT_FIFO
    assert queue.namespace_selector == {"team": "a"} and not queue.admits_no_namespace
    cpu_mem, gpus = queue.resource_groups
    assert cpu_mem.covered == ("cpu", "memory")
    assert cpu_mem.flavors[0].flavor == "default"
    assert cpu_mem.flavors[0].resources == {
        "cpu": ResourceQuotaSpec(64_000),
        "memory": ResourceQuotaSpec(262_144),
    }
    a100, t4 = gpus.flavors
    assert a100.resources["nvidia.com/gpu"] == ResourceQuotaSpec(2500, 4000, 1000)
    assert a100.resources["pods"] == ResourceQuotaSpec(10)
    assert t4.resources == {
        "nvidia.com/gpu": ResourceQuotaSpec(8000),
        "pods": ResourceQuotaSpec(20),
    }
    assert queue.preemption == Preemption(
        WithinClusterQueue.LOWER_OR_NEWER_EQUAL_PRIORITY,
        ReclaimWithinCohort.ANY,
        BorrowWithinCohort.LOWER_PRIORITY,
        100,
    )
    assert queue.fair_weight == 1.5
    assert queue.source == Location("cq.yaml", 1)


def test_cluster_queue_defaults_follow_kueue() -> None:
    text = "apiVersion: kueue.x-k8s.io/v1beta1\nkind: ClusterQueue\nmetadata: {name: q}\n"
    manifests = read_text(text, "m.yaml")
    (queue,) = manifests.cluster_queues
    assert queue.queueing_strategy is QueueingStrategy.BEST_EFFORT_FIFO
    assert queue.preemption == Preemption()
    assert queue.preemption.within_cluster_queue is WithinClusterQueue.NEVER
    assert queue.cohort is None and queue.resource_groups == () and queue.fair_weight == 1.0
    # Kueue reads a missing namespaceSelector as "no namespace", and says so.
    assert queue.admits_no_namespace and not queue.admits_namespace({})
    assert manifests.warnings == [
        "m.yaml:1: ClusterQueue q has no spec.namespaceSelector, so Kueue admits no workload "
        "into it; write `namespaceSelector: {}` to admit every namespace"
    ]


def test_namespace_selector_empty_admits_all_and_match_labels_filter() -> None:
    text = CQ.replace("    matchLabels: {team: a}\n", "").replace(
        "namespaceSelector:", "namespaceSelector: {}"
    )
    (every,) = read_text(text).cluster_queues
    assert every.namespace_selector is None and every.admits_namespace({"team": "b"})
    (team_a,) = read_text(CQ).cluster_queues
    assert team_a.admits_namespace({"team": "a", "x": "y"})
    assert not team_a.admits_namespace({"team": "b"})


def test_namespace_selector_in_with_one_value_is_match_labels_others_are_refused() -> None:
    single = "    matchExpressions: [{key: tier, operator: In, values: [gold]}]\n"
    text = CQ.replace("    matchLabels: {team: a}\n", "    matchLabels: {team: a}\n" + single)
    (queue,) = read_text(text).cluster_queues
    assert queue.namespace_selector == {"team": "a", "tier": "gold"}
    text = text.replace("operator: In", "operator: NotIn")
    err = fails(text)
    assert str(err).startswith(at(text, "NotIn", "spec.namespaceSelector.matchExpressions[0]"))
    assert "not supported yet" in str(err)


def test_flavor_resources_must_follow_covered_resources_in_order() -> None:
    text = CQ.replace("      - name: cpu\n        nominalQuota: 64\n", "").replace(
        "      - name: memory\n        nominalQuota: 256Gi\n",
        "      - name: memory\n        nominalQuota: 256Gi\n      - name: cpu\n"
        "        nominalQuota: 64\n",
    )
    err = fails(text)
    path = "spec.resourceGroups[0].flavors[0].resources[0].name"
    assert str(err).startswith(at(text, "- name: memory", path))
    assert "must match the name in coveredResources: expected 'cpu'" in str(err)


def test_flavor_resources_must_cover_every_covered_resource() -> None:
    text = CQ.replace("      - name: memory\n        nominalQuota: 256Gi\n", "")
    err = fails(text)
    path = "spec.resourceGroups[0].flavors[0].resources"
    assert str(err).startswith(at(text, "resources:", path))
    assert "must have the same number of resources as the coveredResources" in str(err)


def test_lending_limit_may_not_exceed_nominal_quota() -> None:
    text = CQ.replace("lendingLimit: 1", "lendingLimit: 3")
    err = fails(text)
    path = "spec.resourceGroups[1].flavors[0].resources[0].lendingLimit"
    assert str(err).startswith(at(text, "lendingLimit", path))
    assert "must be less than or equal to the nominalQuota (2.5)" in str(err)


@pytest.mark.parametrize("limit", ["borrowingLimit", "lendingLimit"])
def test_limits_need_a_cohort(limit: str) -> None:
    text = CQ.replace("  cohort: research\n", "")
    err = fails(text)
    # borrowingLimit comes first in the manifest, so it is the one reported.
    assert str(err).startswith(at(text, "borrowingLimit", "spec.resourceGroups[1].flavors[0]"))
    if limit == "lendingLimit":
        text = text.replace("        borrowingLimit: 4\n", "")
        err = fails(text)
    path = f"spec.resourceGroups[1].flavors[0].resources[0].{limit}"
    assert str(err).startswith(at(text, limit, path))
    assert "must be nil when cohort is empty" in str(err)


def test_a_resource_belongs_to_one_resource_group() -> None:
    text = CQ.replace("[nvidia.com/gpu, pods]", "[nvidia.com/gpu, cpu]").replace(
        "name: pods", "name: cpu"
    )
    err = fails(text)
    path = "spec.resourceGroups[1].coveredResources[1]"
    assert str(err).startswith(at(text, "[nvidia.com/gpu, cpu]", path))
    assert "Duplicate value: 'cpu' (first at spec.resourceGroups[0].coveredResources[0])" in str(
        err
    )


def test_a_flavor_belongs_to_one_resource_group() -> None:
    text = CQ.replace("name: t4", "name: default")
    err = fails(text)
    path = "spec.resourceGroups[1].flavors[1].name"
    assert str(err).startswith(at(text, "- name: default", path, nth=1))
    assert "Duplicate value: 'default'" in str(err)


def test_at_most_sixteen_resource_groups() -> None:
    groups = "".join(
        f"  - coveredResources: [r.io/x{i}]\n"
        f"    flavors: [{{name: f{i}, resources: [{{name: r.io/x{i}, nominalQuota: 1}}]}}]\n"
        for i in range(17)
    )
    text = (
        "apiVersion: kueue.x-k8s.io/v1beta1\nkind: ClusterQueue\nmetadata: {name: q}\n"
        "spec:\n  namespaceSelector: {}\n  resourceGroups:\n" + groups
    )
    err = fails(text)
    assert str(err).startswith("m.yaml:6: spec.resourceGroups: must have at most 16 resource")
    # Sixteen are fine.
    text = text[: text.index("  - coveredResources: [r.io/x16]")]
    assert len(read_text(text).cluster_queues[0].resource_groups) == 16


def test_borrow_within_cohort_needs_reclaim_within_cohort() -> None:
    text = CQ.replace("reclaimWithinCohort: Any", "reclaimWithinCohort: Never")
    err = fails(text)
    assert str(err).startswith(at(text, "policy: LowerPriority", "spec.preemption."))
    assert "borrowWithinCohort.policy" in str(err)
    assert "reclaimWithinCohort=Never and borrowWithinCohort.Policy!=Never" in str(err)


@pytest.mark.parametrize(
    ("old", "new", "needle", "path", "message"),
    [
        (
            "StrictFIFO",
            "FIFO",
            "queueingStrategy",
            "spec.queueingStrategy",
            "unsupported value 'FIFO': supported values: StrictFIFO, BestEffortFIFO",
        ),
        (
            "LowerOrNewerEqualPriority",
            "Always",
            "withinClusterQueue",
            "spec.preemption.withinClusterQueue",
            "unsupported value 'Always'",
        ),
        ("1500m", "-1", "weight:", "spec.fairSharing.weight", "must not be negative"),
        ("1500m", "1n", "weight:", "spec.fairSharing.weight", "weight must be greater than 1n"),
        ("research", "Research_Org", "cohort:", "spec.cohort", "invalid name 'Research_Org'"),
        ("name: t4", "name: T4", "name: T4", "spec.resourceGroups[1].flavors[1].name", "invalid"),
        ("nominalQuota: 10", "nominalQuota: -1", "-1", "", "must not be negative"),
        ("nominalQuota: 20", "nominalQuota: 2.5", "Quota: 2.5", "", "pods must be a whole number"),
        ("[cpu, memory]", "[cpu, 'bad name']", "bad name", "", "is not a valid resource name"),
        ("maxPriorityThreshold: 100", "maxPriorityThreshold: 1e10", "1e10", "", "integer"),
    ],
)
def test_cluster_queue_rules_name_file_line_and_field(
    old: str, new: str, needle: str, path: str, message: str
) -> None:
    text = CQ.replace(old, new)
    err = fails(text)
    assert str(err).startswith(at(text, needle, path))
    assert message in str(err)


def test_fair_weight_zero_is_allowed() -> None:
    (queue,) = read_text(CQ.replace("1500m", "0")).cluster_queues
    assert queue.fair_weight == 0.0


def test_unmodelled_cluster_queue_fields_warn() -> None:
    text = CQ + "  stopPolicy: Hold\n  flavorFungibility: {whenCanBorrow: TryNextFlavor}\n"
    manifests = read_text(text, "m.yaml")
    # flavorFungibility is modelled (it changes the flavor chosen); stopPolicy is not.
    assert manifests.warnings == [
        f"m.yaml:{line(text, 'stopPolicy')}: stopPolicy Hold is not modelled by gpuplane; "
        "the queue stays open",
    ]
    (queue,) = manifests.cluster_queues
    assert queue.flavor_fungibility.when_can_borrow.value == "TryNextFlavor"


# --- Cohort -----------------------------------------------------------------------------------

COHORT = """\
apiVersion: kueue.x-k8s.io/v1alpha1
kind: Cohort
metadata: {name: research}
spec:
  parent: org
  resourceGroups:
  - coveredResources: [nvidia.com/gpu]
    flavors:
    - name: a100
      resources:
      - {name: nvidia.com/gpu, nominalQuota: 4, lendingLimit: 8}
  fairSharing: {weight: 2}
"""


def test_cohort_v1alpha1_reads_parent_quota_and_weight() -> None:
    (cohort,) = read_text(COHORT).cohorts
    assert (cohort.name, cohort.parent, cohort.fair_weight) == ("research", "org", 2.0)
    # A cohort's lendingLimit may exceed its own quota (it lends its members' too).
    (group,) = cohort.resource_groups
    assert group.flavors[0].resources["nvidia.com/gpu"] == ResourceQuotaSpec(4000, None, 8000)


def test_cohort_defaults() -> None:
    text = "apiVersion: kueue.x-k8s.io/v1alpha1\nkind: Cohort\nmetadata: {name: root}\n"
    (cohort,) = read_text(text).cohorts
    assert (cohort.parent, cohort.resource_groups, cohort.fair_weight) == (None, (), 1.0)


def test_cohort_v1beta1_names_its_parent_parent_name() -> None:
    text = COHORT.replace("v1alpha1", "v1beta1").replace("parent:", "parentName:")
    assert read_text(text).cohorts[0].parent == "org"
    # Kueue 0.11's v1beta1 still called it `parent`.
    assert read_text(COHORT.replace("v1alpha1", "v1beta1")).cohorts[0].parent == "org"


def test_cohort_v1alpha1_refuses_parent_name() -> None:
    text = COHORT.replace("parent:", "parentName:")
    err = fails(text)
    assert str(err).startswith(at(text, "parentName", "spec.parentName"))
    assert "hint: write spec.parent" in str(err)


def test_cohort_limits_need_a_parent() -> None:
    text = COHORT.replace("  parent: org\n", "")
    err = fails(text)
    path = "spec.resourceGroups[0].flavors[0].resources[0].lendingLimit"
    assert str(err).startswith(at(text, "lendingLimit", path))
    assert "must be nil when parent is empty" in str(err)


# --- LocalQueue, ResourceFlavor, WorkloadPriorityClass ----------------------------------------

OTHERS = """\
apiVersion: kueue.x-k8s.io/v1beta1
kind: LocalQueue
metadata: {name: team-a-lq, namespace: team-a}
spec: {clusterQueue: team-a}
---
apiVersion: kueue.x-k8s.io/v1beta1
kind: LocalQueue
metadata: {name: team-a-lq}
spec: {clusterQueue: team-a}
---
apiVersion: kueue.x-k8s.io/v1beta1
kind: ResourceFlavor
metadata: {name: a100}
spec:
  nodeLabels: {nvidia.com/gpu.product: NVIDIA-A100-SXM4-80GB}
  nodeTaints:
  - {key: nvidia.com/gpu, value: present, effect: NoSchedule}
  tolerations:
  - {key: spot, operator: Exists, effect: NoSchedule}
---
apiVersion: kueue.x-k8s.io/v1beta1
kind: ResourceFlavor
metadata: {name: default-flavor}
---
apiVersion: kueue.x-k8s.io/v1beta1
kind: WorkloadPriorityClass
metadata: {name: high}
value: 10000
description: production training
---
apiVersion: kueue.x-k8s.io/v1beta1
kind: WorkloadPriorityClass
metadata: {name: low}
value: -5
"""


def test_local_queues_flavors_and_priority_classes() -> None:
    manifests = read_text(OTHERS)
    ns_a, default = manifests.local_queues
    assert (ns_a.name, ns_a.namespace, ns_a.cluster_queue) == ("team-a-lq", "team-a", "team-a")
    assert default.namespace == "default"
    a100, plain = manifests.resource_flavors
    assert a100.node_labels == {"nvidia.com/gpu.product": "NVIDIA-A100-SXM4-80GB"}
    assert a100.node_taints == (Taint("nvidia.com/gpu", "present", TaintEffect.NO_SCHEDULE),)
    assert a100.tolerations == (Toleration("spot", "Exists", "", TaintEffect.NO_SCHEDULE),)
    assert (plain.node_labels, plain.node_taints, plain.tolerations) == ({}, (), ())
    high, low = manifests.workload_priority_classes
    assert (high.name, high.value, high.description) == ("high", 10000, "production training")
    assert (low.value, low.description) == (-5, "")


@pytest.mark.parametrize(
    ("old", "new", "needle", "message"),
    [
        (
            "spec: {clusterQueue: team-a}\n---\napiVersion: kueue.x-k8s.io/v1beta1\nkind: "
            "LocalQueue\nmetadata: {name: team-a-lq}\n",
            "spec: {}\n---\napiVersion: kueue.x-k8s.io/v1beta1\nkind: LocalQueue\n"
            "metadata: {name: team-a-lq}\n",
            "spec: {}",
            "spec.clusterQueue: required value",
        ),
        ("value: 10000", "value: 3000000000", "3000000000", "value: must fit in 32 bits"),
        # A missing field is placed at the object that lacks it.
        ("value: -5\n", "", "kind: WorkloadPriorityClass", "value: required value"),
        ("effect: NoSchedule}\n  tol", "effect: Sometimes}\n  tol", "Sometimes", "effect: unsup"),
        (
            "  - {key: nvidia.com/gpu, value: present, effect: NoSchedule}\n",
            "  - {key: nvidia.com/gpu, value: present, effect: NoSchedule}\n"
            "  - {key: nvidia.com/gpu, value: other, effect: NoSchedule}\n",
            "value: other",
            "spec.nodeTaints[1]: Duplicate value: taint nvidia.com/gpu:NoSchedule",
        ),
        (
            "nodeLabels: {nvidia.com/gpu.product: NVIDIA-A100-SXM4-80GB}",
            "nodeLabels: {" + ", ".join(f"l{i}: v" for i in range(9)) + "}",
            "nodeLabels",
            "spec.nodeLabels: must have at most 8 labels, got 9",
        ),
    ],
)
def test_local_queue_flavor_and_priority_class_rules(
    old: str, new: str, needle: str, message: str
) -> None:
    assert old in OTHERS
    text = OTHERS.replace(old, new)
    err = fails(text)
    # The last WorkloadPriorityClass starts on the line before its kind.
    row = line(text, needle, -1) - 1 if needle.startswith("kind:") else line(text, needle)
    assert str(err).startswith(f"m.yaml:{row}: ")
    assert message in str(err)


# --- Volcano ----------------------------------------------------------------------------------

VOLCANO = """\
apiVersion: scheduling.volcano.sh/v1beta1
kind: Queue
metadata: {name: research}
spec:
  weight: 4
  reclaimable: false
  parent: org
  priority: 2
  capability: {cpu: 128, memory: 1Ti, nvidia.com/gpu: 16}
  deserved: {cpu: 64, nvidia.com/gpu: "8.5"}
  guarantee:
    resource: {nvidia.com/gpu: 2}
---
apiVersion: scheduling.volcano.sh/v1beta1
kind: Queue
metadata: {name: default}
---
apiVersion: scheduling.volcano.sh/v1beta1
kind: PodGroup
metadata: {name: llm, namespace: ml}
spec:
  minMember: 8
  minResources: {cpu: 1500m, memory: "1.5Mi", nvidia.com/gpu: "0.5"}
  queue: research
  priorityClassName: high
---
apiVersion: scheduling.volcano.sh/v1beta1
kind: PodGroup
metadata: {name: solo}
"""


def test_volcano_queue_and_pod_group_with_their_defaults() -> None:
    manifests = read_text(VOLCANO)
    research, default = manifests.volcano_queues
    assert (research.weight, research.reclaimable, research.parent, research.priority) == (
        4,
        False,
        "org",
        2,
    )
    assert research.capability == {"cpu": 128_000, "memory": 1_048_576, "nvidia.com/gpu": 16_000}
    assert research.deserved == {"cpu": 64_000, "nvidia.com/gpu": 8500}
    assert research.guarantee == {"nvidia.com/gpu": 2000}
    assert (default.weight, default.reclaimable, default.capability) == (1, True, {})
    assert (default.parent, default.priority, default.deserved) == (None, 0, {})
    llm, solo = manifests.pod_groups
    assert (llm.name, llm.namespace, llm.min_member, llm.queue) == ("llm", "ml", 8, "research")
    assert llm.priority_class_name == "high"
    # minResources is a demand: memory rounds up to whole MiB.
    assert llm.min_resources == {"cpu": 1500, "memory": 2, "nvidia.com/gpu": 500}
    assert (solo.namespace, solo.min_member, solo.queue, solo.priority_class_name) == (
        "default",
        1,
        "default",
        None,
    )
    assert solo.min_resources == {}


@pytest.mark.parametrize(
    ("old", "new", "needle", "message"),
    [
        ("weight: 4", "weight: -1", "weight", "spec.weight: queue weight must be a positive"),
        (
            'nvidia.com/gpu: "8.5"',
            "nvidia.com/gpu: 17",
            "deserved:",
            "spec.deserved.nvidia.com/gpu: must be less than or equal to spec.capability."
            "nvidia.com/gpu (16), got 17",
        ),
        (
            "resource: {nvidia.com/gpu: 2}",
            "resource: {nvidia.com/gpu: 9}",
            "resource:",
            "spec.guarantee.resource.nvidia.com/gpu: must be less than or equal to "
            "spec.deserved.nvidia.com/gpu (8.5), got 9",
        ),
        ("minMember: 8", "minMember: -1", "minMember", "spec.minMember: must be greater than"),
        ("cpu: 1500m", "cpu: -1", "minResources", "spec.minResources.cpu: -1 must not be neg"),
    ],
)
def test_volcano_rules(old: str, new: str, needle: str, message: str) -> None:
    text = VOLCANO.replace(old, new)
    err = fails(text)
    assert str(err).startswith(f"m.yaml:{line(text, needle)}: ")
    assert message in str(err)


def test_another_groups_queue_is_skipped_not_refused() -> None:
    text = "apiVersion: scheduling.run.ai/v2\nkind: Queue\nmetadata: {name: kai}\n"
    manifests = read_text(text, "m.yaml")
    assert manifests.volcano_queues == []
    assert manifests.warnings == [
        "m.yaml:1: Queue (scheduling.run.ai/v2) is not read by gpuplane; skipped"
    ]


def test_an_unread_version_of_a_read_group_is_refused() -> None:
    text = CQ.replace("v1beta1", "v1alpha1")
    err = fails(text)
    assert str(err).startswith("m.yaml:1: apiVersion: gpuplane reads ClusterQueue from apiVersion")
    text = COHORT.replace("v1alpha1", "v1")
    assert "kueue.x-k8s.io/v1alpha1 or kueue.x-k8s.io/v1beta1" in str(fails(text))


def test_queues_are_named_once_per_scope() -> None:
    err = fails(CQ + "---\n" + CQ)
    assert isinstance(err, ManifestError)
    assert "ClusterQueue team-a is defined twice (first at m.yaml:1)" in str(err)
    # The same LocalQueue name in two namespaces is two queues.
    assert len(read_text(OTHERS).local_queues) == 2


def test_a_bad_queue_rejects_the_whole_set() -> None:
    with pytest.raises(InputError):
        read_text(OTHERS + "---\n" + CQ.replace("StrictFIFO", "LIFO"))


# --- quota units ------------------------------------------------------------------------------


def quota(resource: str, value: object, *, round_up: bool = False) -> int:
    return quota_amount(resource, Field(value, Location("q.yaml", 7, "spec.x")), round_up=round_up)


def test_quota_amounts_in_brain_units() -> None:
    assert quota("nvidia.com/gpu", "2.5") == 2500
    assert quota("nvidia.com/gpu", 3) == 3000
    assert quota("memory", "64Gi") == 65536
    assert quota("ephemeral-storage", "1Gi") == 1024
    assert quota("cpu", "500m") == 500 and quota("cpu", 9) == 9000
    assert quota("pods", 5) == 5 and quota("nvidia.com/mig-1g.10gb", "7") == 7
    # Capacities round down, demands up.
    assert quota("memory", "1.5Mi") == 1 and quota("memory", "1.5Mi", round_up=True) == 2
    assert quota("nvidia.com/gpu", "0.0005") == 0
    assert quota("nvidia.com/gpu", "0.0005", round_up=True) == 1


def test_quota_amounts_refuse_negatives_and_split_counts_with_their_location() -> None:
    for resource in ("cpu", "memory", "nvidia.com/gpu", "pods"):
        with pytest.raises(QuantityError, match="must not be negative") as err:
            quota(resource, "-1")
        assert str(err.value).startswith("q.yaml:7: spec.x:")
    with pytest.raises(QuantityError, match="pods must be a whole number"):
        quota("pods", "2.5")
    with pytest.raises(QuantityError, match="is not a quantity"):
        quota("cpu", "lots")


# --- durations and simulator hints ------------------------------------------------------------


def duration(value: object) -> float:
    return read_duration(Field(value, Location("d.yaml", 4, "metadata.annotations.x")))


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("2h30m", 9000.0),
        ("1.5h", 5400.0),
        ("90", 90.0),
        ("90s", 90.0),
        ("45m", 2700.0),
        ("1h2m3.5s", 3723.5),
        ("300ms", 0.3),
        ("1500us", 0.0015),
        ("2µs", 0.000002),
        (".5m", 30.0),
        ("0", 0.0),
        ("2.5", 2.5),
        (120, 120.0),
        (1.25, 1.25),
    ],
)
def test_durations(text: object, seconds: float) -> None:
    assert duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["2x", "", "h", "1h 2m", "1d", "-5m", "+5s", "1.2.3s", True, []])
def test_bad_durations_say_where(text: object) -> None:
    with pytest.raises(ManifestError) as err:
        duration(text)
    assert str(err.value).startswith("d.yaml:4: metadata.annotations.x:")
    assert "Go duration" in str(err.value)


POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: p
  labels: {kueue.x-k8s.io/priority-class: high}
  annotations:
    kueue.x-k8s.io/queue-name: legacy
    gpuplane.io/duration: 1.5h
    gpuplane.io/checkpoint-interval: "900"
spec:
  containers: [{name: c, image: x}]
"""

JOB = """\
apiVersion: batch/v1
kind: Job
metadata:
  name: train
  labels: {kueue.x-k8s.io/queue-name: team-a-lq}
  annotations: {gpuplane.io/duration: 2h30m}
spec:
  parallelism: 2
  template:
    metadata:
      annotations: {gpuplane.io/duration: 1h, gpuplane.io/checkpoint-interval: 10m}
    spec:
      restartPolicy: Never
      containers: [{name: c, image: x}]
"""


def test_pod_hints_and_queue_name() -> None:
    (pod,) = read_text(POD).pods
    assert pod.sim == SimHints(duration=5400.0, checkpoint_interval=900.0)
    # The annotation Kueue first used still names the queue when no label does.
    assert queue_name(pod) == "legacy"
    assert workload_priority_class(pod) == "high"


def test_job_queue_name_label_and_hints_reach_its_pods() -> None:
    (job,) = read_text(JOB).jobs
    assert queue_name(job) == "team-a-lq"
    assert workload_priority_class(job) is None
    assert job.annotations == {"gpuplane.io/duration": "2h30m"}
    # The Job's own duration wins over its template's; the interval comes from the template.
    assert job.sim == SimHints(duration=9000.0, checkpoint_interval=600.0)
    assert all(pod.sim == job.sim for pod in job.active_pods())
    assert queue_name(job.template) is None


def test_workloads_without_hints_or_queue() -> None:
    text = JOB.replace("  labels: {kueue.x-k8s.io/queue-name: team-a-lq}\n", "")
    text = text.replace("  annotations: {gpuplane.io/duration: 2h30m}\n", "")
    text = text.replace(
        "    metadata:\n      annotations: {gpuplane.io/duration: 1h, "
        "gpuplane.io/checkpoint-interval: 10m}\n",
        "",
    )
    (job,) = read_text(text).jobs
    assert job.sim == SimHints() and job.template.sim == SimHints()
    assert queue_name(job) is None and job.annotations == {}


def test_bad_hints_name_the_annotation() -> None:
    text = JOB.replace("2h30m", "2x")
    err = fails(text)
    assert str(err).startswith(
        f"m.yaml:{line(text, '2x')}: metadata.annotations.gpuplane.io/duration: not a duration"
    )
    text = POD.replace('"900"', '"0s"')
    err = fails(text)
    path = "metadata.annotations.gpuplane.io/checkpoint-interval"
    assert str(err).startswith(f"m.yaml:{line(text, '0s')}: {path}: must be longer than zero")


def test_cluster_queue_defaults_build_without_yaml() -> None:
    # Code that builds queues by hand keeps the old meaning: no selector admits everyone.
    queue = ClusterQueue("q")
    assert queue.admits_namespace({"any": "thing"})
