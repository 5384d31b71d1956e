"""Reading the quota part that Kueue's ClusterQueue and Cohort share: resource groups.

Each group covers some resources and lists flavors with a quota for each covered resource, in
the same order; limits and duplicate rules follow Kueue's CRD schema and webhooks. References
to other Kueue objects and int32 fields are checked here too, for every Kueue reader.
"""

from __future__ import annotations

import re

from gpuplane.objects.queues import FlavorQuotas, ResourceGroup, ResourceQuotaSpec
from gpuplane.objects.read_quota import check_resource_name, exact_amount, quota_amount
from gpuplane.objects.yamlio import Field

#: Kueue's limits: resource groups per queue, flavors and covered resources per group, and
#: flavors in all groups together.
MAX_RESOURCE_GROUPS = 16
MAX_GROUP_ITEMS = 64
MAX_FLAVORS = 256

_INT32 = (-(2**31), 2**31 - 1)
# What Kueue's CRDs allow for a reference to another object: a lowercase DNS subdomain.
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")

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


def resource_groups(
    groups_field: Field,
    *,
    limits_need: str,
    has_parent: bool,
    lending_within_nominal: bool = True,
) -> tuple[ResourceGroup, ...]:
    items = groups_field.each()
    at_most(groups_field, len(items), MAX_RESOURCE_GROUPS, "resource groups")
    covered_in: dict[str, str] = {}
    flavor_in: dict[str, str] = {}
    groups = []
    for group in items:
        covered = _covered(group["coveredResources"], covered_in)
        flavors_field = group["flavors"]
        flavor_items = flavors_field.each()
        if not flavor_items:
            raise flavors_field.error("required value: at least one flavor")
        at_most(flavors_field, len(flavor_items), MAX_GROUP_ITEMS, "flavors")
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
    at_most(field, len(items), MAX_GROUP_ITEMS, "resources")
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


def at_most(field: Field, count: int, most: int, what: str) -> None:
    if count > most:
        raise field.error(f"must have at most {most} {what}, got {count}")
