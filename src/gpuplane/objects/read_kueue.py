"""Reading Kueue's objects (kueue.x-k8s.io) with the rules of Kueue's CRD schemas and webhooks.

ClusterQueue, LocalQueue, ResourceFlavor and WorkloadPriorityClass are read from v1beta1 and
v1beta2; Cohort from v1alpha1 (Kueue 0.9-0.10, `spec.parent`), v1beta1 (0.11 on,
`spec.parentName`) or v1beta2. What v1beta2 changed, as Kueue's conversion maps it: a
ClusterQueue names its cohort in `spec.cohortName` (v1beta1: `spec.cohort`), admission checks
only in `admissionChecksStrategy`, and flavorFungibility's `Borrow`/`Preempt` are spelled
`MayStopSearch`. Quota amounts are converted by `quota_amount`; capacities round down.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from fractions import Fraction
from typing import TypeVar

from gpuplane.objects.queues import (
    BorrowWithinCohort,
    ClusterQueue,
    Cohort,
    FlavorFungibility,
    FungibilityPolicy,
    LocalQueue,
    Preemption,
    QueueingStrategy,
    ReclaimWithinCohort,
    ResourceFlavor,
    WithinClusterQueue,
    WorkloadPriorityClass,
)
from gpuplane.objects.read_quota import exact_amount
from gpuplane.objects.read_resource_groups import (
    at_most,
    optional_int32,
    reference,
    resource_groups,
)
from gpuplane.objects.read_scheduling import read_taints, read_tolerations
from gpuplane.objects.yamlio import Field, Warn

#: Kueue's limit on nodeLabels, nodeTaints and tolerations per ResourceFlavor.
MAX_FLAVOR_NODE_ITEMS = 8

KUEUE_V1ALPHA1 = "kueue.x-k8s.io/v1alpha1"
KUEUE_V1BETA2 = "kueue.x-k8s.io/v1beta2"
_E = TypeVar("_E", bound=StrEnum)


def read_cluster_queue(root: Field, warn: Warn | None = None) -> ClusterQueue:
    """A ClusterQueue: resource groups with quotas, cohort, strategy, preemption, fair sharing."""
    name = root["metadata"]["name"].required_string()
    spec = root["spec"]
    v1beta2 = root["apiVersion"].string() == KUEUE_V1BETA2
    cohort_field = _renamed(spec, "cohortName" if v1beta2 else "cohort", "cohort", "cohortName")
    cohort = reference(cohort_field) if cohort_field.present else None
    selector, admits_none = _namespace_selector(spec["namespaceSelector"], name, warn)
    if v1beta2 and spec["admissionChecks"].present:
        raise spec["admissionChecks"].error(
            "v1beta2 ClusterQueues list admission checks in spec.admissionChecksStrategy; "
            "the API server would drop spec.admissionChecks",
            hint="move the names to spec.admissionChecksStrategy.admissionChecks[].name",
        )
    if warn is not None:
        for key in ("admissionChecks", "admissionChecksStrategy"):
            if spec[key].present:
                warn(spec[key].where, f"{key} is not modelled by gpuplane; ignored")
        _warn_stop_policy(spec["stopPolicy"], warn)
    return ClusterQueue(
        name=name,
        resource_groups=resource_groups(
            spec["resourceGroups"], limits_need="cohort", has_parent=cohort is not None
        ),
        cohort=cohort,
        queueing_strategy=_enum(
            spec["queueingStrategy"], QueueingStrategy, QueueingStrategy.BEST_EFFORT_FIFO
        ),
        preemption=_preemption(spec["preemption"]),
        fair_weight=_fair_weight(spec["fairSharing"]),
        namespace_selector=selector,
        admits_no_namespace=admits_none,
        flavor_fungibility=_fungibility(spec["flavorFungibility"], v1beta2),
        source=root.where,
    )


def read_cohort(root: Field, warn: Warn | None = None) -> Cohort:
    """A Cohort: its parent in the cohort tree, its own quota, and its fair-sharing weight."""
    name = root["metadata"]["name"].required_string()
    spec = root["spec"]
    parent = _cohort_parent(spec, root["apiVersion"].string())
    return Cohort(
        name=name,
        parent=parent,
        # A cohort's quota adds to its members'; Kueue lets its lendingLimit exceed it.
        resource_groups=resource_groups(
            spec["resourceGroups"],
            limits_need="parent",
            has_parent=parent is not None,
            lending_within_nominal=False,
        ),
        fair_weight=_fair_weight(spec["fairSharing"]),
        source=root.where,
    )


def read_local_queue(root: Field, warn: Warn | None = None) -> LocalQueue:
    """A LocalQueue: the namespaced name workloads use, pointing at its ClusterQueue."""
    metadata = root["metadata"]
    cluster_queue = root["spec"]["clusterQueue"]
    if not cluster_queue.present:
        raise cluster_queue.error(
            "required value: the ClusterQueue this LocalQueue submits to",
            hint="set spec.clusterQueue to the name of a ClusterQueue",
        )
    if warn is not None:
        _warn_stop_policy(root["spec"]["stopPolicy"], warn)
    return LocalQueue(
        name=metadata["name"].required_string(),
        namespace=metadata["namespace"].string() or "default",
        cluster_queue=reference(cluster_queue),
        source=root.where,
    )


def read_resource_flavor(root: Field, warn: Warn | None = None) -> ResourceFlavor:
    """A ResourceFlavor: node labels and taints its quota stands for, tolerations it adds."""
    spec = root["spec"]
    labels_field, taints_field = spec["nodeLabels"], spec["nodeTaints"]
    tolerations_field = spec["tolerations"]
    labels = labels_field.string_map()
    at_most(labels_field, len(labels), MAX_FLAVOR_NODE_ITEMS, "labels")
    taints = read_taints(taints_field)
    at_most(taints_field, len(taints), MAX_FLAVOR_NODE_ITEMS, "taints")
    seen: set[tuple[str, str]] = set()
    for taint, item in zip(taints, taints_field.each(), strict=True):
        if (taint.key, taint.effect.value) in seen:
            raise item.error(
                f"Duplicate value: taint {taint.key}:{taint.effect.value}: "
                "taints must be unique by key and effect pair"
            )
        seen.add((taint.key, taint.effect.value))
    tolerations = read_tolerations(tolerations_field)
    at_most(tolerations_field, len(tolerations), MAX_FLAVOR_NODE_ITEMS, "tolerations")
    if warn is not None and spec["topologyName"].present:
        warn(spec["topologyName"].where, "topology-aware scheduling is not modelled; ignored")
    return ResourceFlavor(
        name=root["metadata"]["name"].required_string(),
        node_labels=labels,
        node_taints=taints,
        tolerations=tolerations,
        source=root.where,
    )


def read_workload_priority_class(root: Field, warn: Warn | None = None) -> WorkloadPriorityClass:
    """A WorkloadPriorityClass: an int32 value (required) and a description."""
    value_field = root["value"]
    value = optional_int32(value_field)
    if value is None:
        raise value_field.error("required value: the priority as an integer")
    return WorkloadPriorityClass(
        name=root["metadata"]["name"].required_string(),
        value=value,
        description=root["description"].string(),
        source=root.where,
    )


def _preemption(field: Field) -> Preemption:
    reclaim = _enum(field["reclaimWithinCohort"], ReclaimWithinCohort, ReclaimWithinCohort.NEVER)
    borrow_field = field["borrowWithinCohort"]
    borrow = _enum(borrow_field["policy"], BorrowWithinCohort, BorrowWithinCohort.NEVER)
    if reclaim is ReclaimWithinCohort.NEVER and borrow is not BorrowWithinCohort.NEVER:
        raise borrow_field["policy"].error(
            f"must be Never when reclaimWithinCohort is Never, got {borrow.value!r} "
            "(reclaimWithinCohort=Never and borrowWithinCohort.Policy!=Never)",
            hint="set reclaimWithinCohort to LowerPriority or Any to preempt while borrowing",
        )
    return Preemption(
        within_cluster_queue=_enum(
            field["withinClusterQueue"], WithinClusterQueue, WithinClusterQueue.NEVER
        ),
        reclaim_within_cohort=reclaim,
        borrow_within_cohort=borrow,
        borrow_max_priority_threshold=optional_int32(borrow_field["maxPriorityThreshold"]),
    )


def _renamed(spec: Field, current: str, *names: str) -> Field:
    """The field `current`; a sibling this apiVersion does not have is refused, not dropped."""
    for name in names:
        if name != current and spec[name].present:
            raise spec[name].error(
                f"this apiVersion has no spec.{name}; the API server would drop it",
                hint=f"write spec.{current}",
            )
    return spec[current]


#: flavorFungibility values by field; v1beta1 also accepts the old names of MayStopSearch.
_OLD_NAMES = {"whenCanBorrow": "Borrow", "whenCanPreempt": "Preempt"}


def _fungibility(field: Field, v1beta2: bool) -> FlavorFungibility:
    policies = []
    for key, default in (
        ("whenCanBorrow", FungibilityPolicy.MAY_STOP_SEARCH),
        ("whenCanPreempt", FungibilityPolicy.TRY_NEXT_FLAVOR),
    ):
        text = field[key].optional_string()
        if text == _OLD_NAMES[key] and not v1beta2:
            text = FungibilityPolicy.MAY_STOP_SEARCH.value
        policies.append(_enum(field[key], FungibilityPolicy, default, text))
    preference = field["preference"].optional_string()
    if preference and any(p is not FungibilityPolicy.TRY_NEXT_FLAVOR for p in policies):
        raise field["preference"].error(
            "preference can only be set when both whenCanBorrow and whenCanPreempt are "
            "TryNextFlavor"
        )
    if preference not in (None, "", "BorrowingOverPreemption", "PreemptionOverBorrowing"):
        raise field["preference"].error(
            f"unsupported value {preference!r}: supported values: "
            "BorrowingOverPreemption, PreemptionOverBorrowing"
        )
    return FlavorFungibility(
        when_can_borrow=policies[0],
        when_can_preempt=policies[1],
        preemption_over_borrowing=preference == "PreemptionOverBorrowing",
    )


#: A fair-sharing weight is used as a float: far above any real one, far below float's range.
_MAX_WEIGHT = 10**15


def _fair_weight(fair_sharing: Field) -> float:
    """fairSharing.weight, a quantity: 1 when unset, 0 allowed (always last), else above 1n."""
    weight = fair_sharing["weight"]
    if not weight.present:
        return 1.0
    amount = exact_amount(weight)
    if 0 < amount <= Fraction(1, 10**9):
        raise weight.error(f"when not 0, weight must be greater than 1n, got {weight.value!r}")
    if amount > _MAX_WEIGHT:
        raise weight.error(f"must be at most {_MAX_WEIGHT:,}, got {str(weight.value)[:40]}")
    return float(amount)


def _namespace_selector(
    selector: Field, queue: str, warn: Warn | None
) -> tuple[Mapping[str, str] | None, bool]:
    """matchLabels (None for all namespaces), and whether the selector is missing altogether."""
    if not selector.present:
        # Kueue turns a nil selector into labels.Nothing(): such a queue admits nothing.
        if warn is not None:
            warn(
                selector.where,
                f"ClusterQueue {queue} has no spec.namespaceSelector, so Kueue admits no "
                "workload into it; write `namespaceSelector: {}` to admit every namespace",
            )
        return None, True
    labels = selector["matchLabels"].string_map()
    for expression in selector["matchExpressions"].each():
        key = expression["key"].required_string()
        operator = expression["operator"].required_string()
        values = expression["values"].strings()
        # `key In [v]` is matchLabels {key: v}; anything else needs a real label selector.
        if operator == "In" and len(values) == 1 and labels.get(key, values[0]) == values[0]:
            labels[key] = values[0]
            continue
        raise expression.error(
            "namespaceSelector.matchExpressions are not supported yet "
            "(only `operator: In` with one value)",
            hint="write the selector as matchLabels",
        )
    return (labels or None), False


def _cohort_parent(spec: Field, api_version: str) -> str | None:
    parent, parent_name = spec["parent"], spec["parentName"]
    if api_version == KUEUE_V1ALPHA1:
        if parent_name.present:
            raise parent_name.error(
                "v1alpha1 Cohorts name their parent in spec.parent; "
                "the API server would drop spec.parentName",
                hint="write spec.parent, or use apiVersion kueue.x-k8s.io/v1beta1",
            )
        return reference(parent) if parent.present else None
    if api_version == KUEUE_V1BETA2:
        chosen = _renamed(spec, "parentName", "parent")
        return reference(chosen) if chosen.present else None
    # v1beta1 called it `parent` in Kueue 0.11 and `parentName` from 0.12; read either.
    if parent.present and parent_name.present and parent.value != parent_name.value:
        raise parent_name.error(
            f"names parent {parent_name.value!r} but spec.parent names {parent.value!r}",
            hint="keep spec.parentName only",
        )
    chosen = parent_name if parent_name.present else parent
    return reference(chosen) if chosen.present else None


def _enum(field: Field, kind: type[_E], default: _E, text: str | None = None) -> _E:
    text = field.optional_string() if text is None else text
    if not text:
        return default
    try:
        return kind(text)
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise field.error(f"unsupported value {text!r}: supported values: {allowed}") from None


def _warn_stop_policy(field: Field, warn: Warn) -> None:
    policy = field.string()
    if policy and policy != "None":
        warn(field.where, f"stopPolicy {policy} is not modelled by gpuplane; the queue stays open")
