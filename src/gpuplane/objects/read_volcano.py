"""Reading Volcano's objects (scheduling.volcano.sh/v1beta1): Queue and PodGroup, and the
scheduler's configuration (the ConfigMap holding `volcano-scheduler.conf`).

Defaults are those Volcano's admission webhooks fill in: a Queue's weight 1 and reclaimable
true, a PodGroup's queue `default`.
"""

from __future__ import annotations

from collections.abc import Mapping

from gpuplane.errors import InputError
from gpuplane.objects.queues import PodGroup, VolcanoQueue, VolcanoSchedulerConfig
from gpuplane.objects.read_quota import quota_list
from gpuplane.objects.read_resource_groups import optional_int32
from gpuplane.objects.yaml_load import load_text
from gpuplane.objects.yamlio import Field, Warn

#: The queue a PodGroup joins when it names none.
DEFAULT_QUEUE = "default"
#: The data key of Volcano's scheduler ConfigMap (volcano-scheduler-configmap).
SCHEDULER_CONF_KEY = "volcano-scheduler.conf"
#: The actions Volcano's scheduler knows (pkg/scheduler/actions).
KNOWN_ACTIONS = ("enqueue", "allocate", "preempt", "reclaim", "backfill", "shuffle")


def is_volcano_scheduler_configmap(root: Field) -> bool:
    return root["data"][SCHEDULER_CONF_KEY].present


def read_volcano_scheduler_config(root: Field, warn: Warn | None = None) -> VolcanoSchedulerConfig:
    """The actions of a `volcano-scheduler.conf` (`actions: "enqueue, allocate, reclaim"`)."""
    value = root["data"][SCHEDULER_CONF_KEY]
    text = value.required_string()
    first = value.content_line or value.where.line or 1
    documents = load_text(text, value.where.file or "<string>", first_line=first)
    if len(documents) != 1:
        raise value.error("must be one YAML document")
    conf = Field(documents[0].body, value.where)
    actions_field = conf["actions"]
    names = [a.strip() for a in actions_field.string().split(",") if a.strip()]
    if not names:
        raise actions_field.error(
            "required value: the scheduler's actions", hint='e.g. "enqueue, allocate, backfill"'
        )
    for name in names:
        if name not in KNOWN_ACTIONS:
            raise InputError(
                f"unknown Volcano action {name!r}",
                where=actions_field.where,
                hint=f"Volcano's actions are {', '.join(KNOWN_ACTIONS)}",
            )
    return VolcanoSchedulerConfig(actions=tuple(names), source=root.where)


def read_volcano_queue(root: Field, warn: Warn | None = None) -> VolcanoQueue:
    """A Volcano Queue: weight, capability >= deserved >= guarantee, reclaimable, hierarchy."""
    spec = root["spec"]
    weight_field = spec["weight"]
    weight = optional_int32(weight_field)
    if weight is not None and weight < 0:
        raise weight_field.error(f"queue weight must be a positive integer, got {weight}")
    capability = quota_list(spec["capability"])
    deserved = quota_list(spec["deserved"])
    guarantee_field = spec["guarantee"]["resource"]
    guarantee = quota_list(guarantee_field)
    _within(spec["deserved"], deserved, spec["capability"], capability)
    _within(guarantee_field, guarantee, spec["capability"], capability)
    _within(guarantee_field, guarantee, spec["deserved"], deserved)
    return VolcanoQueue(
        name=root["metadata"]["name"].required_string(),
        # The mutating webhook turns an unset (zero) weight into 1.
        weight=weight or 1,
        capability=capability,
        deserved=deserved,
        reclaimable=spec["reclaimable"].boolean(True),
        guarantee=guarantee,
        parent=spec["parent"].optional_string() or None,
        priority=optional_int32(spec["priority"]) or 0,
        source=root.where,
    )


def read_pod_group(root: Field, warn: Warn | None = None) -> PodGroup:
    """A Volcano PodGroup: the gang size, its minimum resources, its queue and priority."""
    metadata, spec = root["metadata"], root["spec"]
    min_member_field = spec["minMember"]
    min_member = optional_int32(min_member_field)
    if min_member is not None and min_member < 0:
        raise min_member_field.error(f"must be greater than or equal to 0, got {min_member}")
    if warn is not None and spec["minTaskMember"].present:
        warn(spec["minTaskMember"].where, "minTaskMember is not modelled by gpuplane; ignored")
    return PodGroup(
        name=metadata["name"].required_string(),
        namespace=metadata["namespace"].string() or "default",
        # Volcano has no default: unset is 0, which gates nothing, exactly as 1 does for a
        # group that has pods; 1 keeps "at least one pod" true for the brain.
        min_member=min_member or 1,
        # A demand, not a cap: round up as requests do.
        min_resources=quota_list(spec["minResources"], round_up=True),
        queue=spec["queue"].string() or DEFAULT_QUEUE,
        priority_class_name=spec["priorityClassName"].optional_string() or None,
        source=root.where,
    )


def _within(
    field: Field, amounts: Mapping[str, int], bound_field: Field, bound: Mapping[str, int]
) -> None:
    """Volcano's rule guarantee <= deserved <= capability, for the resources both list."""
    for resource, amount in amounts.items():
        if resource in bound and amount > bound[resource]:
            limit = bound_field.where.field or ""
            raise field[resource].error(
                f"must be less than or equal to {limit}.{resource} "
                f"({bound_field[resource].value}), got {field[resource].value}",
                hint="a queue's guarantee fits in its deserved share, which fits in its capability",
            )
