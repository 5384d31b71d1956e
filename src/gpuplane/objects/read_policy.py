"""Reading cluster policy objects: scheduling.k8s.io/v1 PriorityClass and v1 ResourceQuota."""

from __future__ import annotations

from gpuplane.objects.policy import PriorityClass, ResourceQuota
from gpuplane.objects.yamlio import Field, Warn
from gpuplane.quantity import mebibytes, millicores, whole

_PREEMPTION_POLICIES = ("PreemptLowerPriority", "Never")
#: The highest value a user-defined PriorityClass may have; above it are the system classes.
HIGHEST_USER_PRIORITY = 1_000_000_000


def read_priority_class(root: Field, warn: Warn | None = None) -> PriorityClass:
    """A PriorityClass: value required, at most one billion unless it is a system- class."""
    name = root["metadata"]["name"].required_string()
    value_field = root["value"]
    value = value_field.optional_integer()
    if value is None:
        raise value_field.error("required value: the priority as an integer")
    if value > HIGHEST_USER_PRIORITY and not name.startswith("system-"):
        raise value_field.error(
            f"maximum allowed value of a user defined priority is {HIGHEST_USER_PRIORITY}"
        )
    policy_field = root["preemptionPolicy"]
    policy = policy_field.string() or "PreemptLowerPriority"
    if policy not in _PREEMPTION_POLICIES:
        raise policy_field.error(
            f"unsupported value {policy!r}: supported values: PreemptLowerPriority, Never"
        )
    return PriorityClass(
        name=name,
        value=value,
        global_default=root["globalDefault"].boolean(False),
        preemption_policy=policy,
        description=root["description"].string(),
        source=root.where,
    )


def read_resource_quota(root: Field, warn: Warn | None = None) -> ResourceQuota:
    """A ResourceQuota's spec.hard in brain units, keyed by the resource name as written."""
    metadata = root["metadata"]
    hard: dict[str, int] = {}
    # Quota is a cap, so like capacity it rounds down: never allow more than was written.
    for resource, value in root["spec"]["hard"].items():
        base = resource.removeprefix("requests.").removeprefix("limits.")
        if base == "cpu":
            hard[resource] = millicores(value.value, value.where, round_up=False)
        elif base == "memory":
            hard[resource] = mebibytes(value.value, value.where, round_up=False)
        else:
            hard[resource] = whole(value.value, value.where, resource=resource)
    return ResourceQuota(
        name=metadata["name"].required_string(),
        namespace=metadata["namespace"].string() or "default",
        hard=hard,
        source=root.where,
    )
