"""Reading Kueue's objects (kueue.x-k8s.io) with the rules of Kueue's CRD schemas and webhooks.

ClusterQueue, LocalQueue, ResourceFlavor and WorkloadPriorityClass are read from v1beta1;
Cohort from v1alpha1 (Kueue 0.9-0.10, `spec.parent`) or v1beta1 (0.11 on, `spec.parentName`).
Quota amounts are converted by `quota_amount`; capacities round down.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from fractions import Fraction
from typing import TypeVar

from gpuplane.objects.queues import (
    BorrowWithinCohort,
    ClusterQueue,
    Cohort,
    FlavorQuotas,
    LocalQueue,
    Preemption,
    QueueingStrategy,
    ReclaimWithinCohort,
    ResourceFlavor,
    ResourceGroup,
    ResourceQuotaSpec,
    WithinClusterQueue,
    WorkloadPriorityClass,
)
from gpuplane.objects.read_quota import check_resource_name, exact_amount, quota_amount
from gpuplane.objects.read_scheduling import read_taints, read_tolerations
from gpuplane.objects.yamlio import Field, Warn

#: Kueue's limits: resource groups per queue, flavors and covered resources per group,
#: flavors in all groups together, and nodeLabels/nodeTaints/tolerations per ResourceFlavor.
MAX_RESOURCE_GROUPS = 16
MAX_GROUP_ITEMS = 64
MAX_FLAVORS = 256
MAX_FLAVOR_NODE_ITEMS = 8

KUEUE_V1ALPHA1 = "kueue.x-k8s.io/v1alpha1"
_INT32 = (-(2**31), 2**31 - 1)
# What Kueue's CRDs allow for a reference to another object: a lowercase DNS subdomain.
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_E = TypeVar("_E", bound=StrEnum)


def read_cluster_queue(root: Field, warn: Warn | None = None) -> ClusterQueue:
    """A ClusterQueue: resource groups with quotas, cohort, strategy, preemption, fair sharing."""
    name = root["metadata"]["name"].required_string()
    spec = root["spec"]
    cohort_field = spec["cohort"]
    cohort = reference(cohort_field) if cohort_field.present else None
    selector, admits_none = _namespace_selector(spec["namespaceSelector"], name, warn)
    if warn is not None:
        for key in ("flavorFungibility", "admissionChecks", "admissionChecksStrategy"):
            if spec[key].present:
                warn(spec[key].where, f"{key} is not modelled by gpuplane; ignored")
        _warn_stop_policy(spec["stopPolicy"], warn)
    return ClusterQueue(
        name=name,
        resource_groups=_resource_groups(
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
        resource_groups=_resource_groups(
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
    _at_most(labels_field, len(labels), MAX_FLAVOR_NODE_ITEMS, "labels")
    taints = read_taints(taints_field)
    _at_most(taints_field, len(taints), MAX_FLAVOR_NODE_ITEMS, "taints")
    seen: set[tuple[str, str]] = set()
    for taint, item in zip(taints, taints_field.each(), strict=True):
        if (taint.key, taint.effect.value) in seen:
            raise item.error(
                f"Duplicate value: taint {taint.key}:{taint.effect.value}: "
                "taints must be unique by key and effect pair"
            )
        seen.add((taint.key, taint.effect.value))
    tolerations = read_tolerations(tolerations_field)
    _at_most(tolerations_field, len(tolerations), MAX_FLAVOR_NODE_ITEMS, "tolerations")
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


def reference(field: Field) -> str:
    """The name of another Kueue object, which Kueue's CRDs require to be a DNS subdomain."""
    name = field.required_string()
    if len(name) > 253 or not _DNS_SUBDOMAIN.match(name):
        raise field.error(
            f"invalid name {name!r}: must be lowercase letters, digits, '-' and '.', "
            "starting and ending with a letter or digit (at most 253 characters)"
        )
    return name


def optional_int32(field: Field) -> int | None:
    """An integer in Go's int32 range, or None when missing."""
    number = field.optional_integer()
    if number is not None and not _INT32[0] <= number <= _INT32[1]:
        raise field.error(f"must fit in 32 bits ({_INT32[0]} to {_INT32[1]}), got {number}")
    return number


def _resource_groups(
    groups_field: Field,
    *,
    limits_need: str,
    has_parent: bool,
    lending_within_nominal: bool = True,
) -> tuple[ResourceGroup, ...]:
    items = groups_field.each()
    _at_most(groups_field, len(items), MAX_RESOURCE_GROUPS, "resource groups")
    covered_in: dict[str, str] = {}
    flavor_in: dict[str, str] = {}
    groups = []
    for group in items:
        covered = _covered(group["coveredResources"], covered_in)
        flavors_field = group["flavors"]
        flavor_items = flavors_field.each()
        if not flavor_items:
            raise flavors_field.error("required value: at least one flavor")
        _at_most(flavors_field, len(flavor_items), MAX_GROUP_ITEMS, "flavors")
        flavors = []
        for flavor in flavor_items:
            name_field = flavor["name"]
            name = reference(name_field)
            first = flavor_in.setdefault(name, name_field.where.field or "")
            if first != name_field.where.field:
                raise name_field.error(
                    f"Duplicate value: {name!r} (first at {first})",
                    hint="each flavor may appear once, in one resource group only",
                )
            resources = _flavor_resources(
                flavor["resources"], covered, limits_need, has_parent, lending_within_nominal
            )
            flavors.append(FlavorQuotas(name, resources))
        groups.append(ResourceGroup(covered=covered, flavors=tuple(flavors)))
    if len(flavor_in) > MAX_FLAVORS:
        raise groups_field.error(
            f"must have at most {MAX_FLAVORS} flavors in all resource groups, got {len(flavor_in)}"
        )
    return tuple(groups)


def _covered(field: Field, covered_in: dict[str, str]) -> tuple[str, ...]:
    """coveredResources of one group; a resource may be covered by one group only."""
    items = field.each()
    if not items:
        raise field.error("required value: at least one resource")
    _at_most(field, len(items), MAX_GROUP_ITEMS, "resources")
    names = []
    for item in items:
        name = item.required_string()
        check_resource_name(name, item)
        first = covered_in.setdefault(name, item.where.field or "")
        if first != item.where.field:
            raise item.error(
                f"Duplicate value: {name!r} (first at {first})",
                hint="a resource may appear in one resource group only",
            )
        names.append(name)
    return tuple(names)


def _flavor_resources(
    field: Field,
    covered: tuple[str, ...],
    limits_need: str,
    has_parent: bool,
    lending_within_nominal: bool,
) -> dict[str, ResourceQuotaSpec]:
    """flavors[].resources: the group's coveredResources, in the same order, with quotas."""
    items = field.each()
    quotas: dict[str, ResourceQuotaSpec] = {}
    for index, item in enumerate(items[: len(covered)]):
        name_field = item["name"]
        name = name_field.required_string()
        if name != covered[index]:
            raise name_field.error(
                f"must match the name in coveredResources: expected {covered[index]!r} "
                f"(coveredResources[{index}]), got {name!r}",
                hint="list each flavor's resources in the order of coveredResources",
            )
        quotas[name] = _quota(item, name, limits_need, has_parent, lending_within_nominal)
    if len(items) != len(covered):
        raise field.error(
            f"must have the same number of resources as the coveredResources: "
            f"{len(items)} listed, {len(covered)} covered ({', '.join(covered)})",
            hint="give every flavor a quota for every covered resource, 0 where it has none",
        )
    return quotas


def _quota(
    item: Field, resource: str, limits_need: str, has_parent: bool, lending_within_nominal: bool
) -> ResourceQuotaSpec:
    nominal_field = item["nominalQuota"]
    if not nominal_field.present:
        raise nominal_field.error("required value")
    limits: list[int | None] = []
    for key in ("borrowingLimit", "lendingLimit"):
        limit = item[key]
        if not limit.present:
            limits.append(None)
            continue
        amount = quota_amount(resource, limit)
        if not has_parent:
            owner = "ClusterQueue a cohort" if limits_need == "cohort" else "Cohort a parent"
            raise limit.error(
                f"must be nil when {limits_need} is empty",
                hint=f"give the {owner} or remove {key}: "
                f"without a {limits_need} nothing is borrowed or lent",
            )
        limits.append(amount)
    lending = item["lendingLimit"]
    # Compared exactly, as Kueue compares quantities, before either is rounded.
    if (
        lending_within_nominal
        and lending.present
        and exact_amount(lending) > exact_amount(nominal_field)
    ):
        raise lending.error(
            f"must be less than or equal to the nominalQuota ({nominal_field.value})"
        )
    return ResourceQuotaSpec(
        nominal=quota_amount(resource, nominal_field),
        borrowing_limit=limits[0],
        lending_limit=limits[1],
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


def _fair_weight(fair_sharing: Field) -> float:
    """fairSharing.weight, a quantity: 1 when unset, 0 allowed (always last), else above 1n."""
    weight = fair_sharing["weight"]
    if not weight.present:
        return 1.0
    amount = exact_amount(weight)
    if 0 < amount <= Fraction(1, 10**9):
        raise weight.error(f"when not 0, weight must be greater than 1n, got {weight.value!r}")
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
    # v1beta1 called it `parent` in Kueue 0.11 and `parentName` from 0.12; read either.
    if parent.present and parent_name.present and parent.value != parent_name.value:
        raise parent_name.error(
            f"names parent {parent_name.value!r} but spec.parent names {parent.value!r}",
            hint="keep spec.parentName only",
        )
    chosen = parent_name if parent_name.present else parent
    return reference(chosen) if chosen.present else None


def _enum(field: Field, kind: type[_E], default: _E) -> _E:
    text = field.optional_string()
    if not text:
        return default
    try:
        return kind(text)
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise field.error(f"unsupported value {text!r}: supported values: {allowed}") from None


def _at_most(field: Field, count: int, most: int, what: str) -> None:
    if count > most:
        raise field.error(f"must have at most {most} {what}, got {count}")


def _warn_stop_policy(field: Field, warn: Warn) -> None:
    policy = field.string()
    if policy and policy != "None":
        warn(field.where, f"stopPolicy {policy} is not modelled by gpuplane; the queue stays open")
