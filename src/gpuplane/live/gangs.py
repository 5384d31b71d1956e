"""Gangs: pods that run all together or not at all, by the PodGroups of two projects.

* scheduler-plugins' coscheduling (scheduling.x-k8s.io/v1alpha1 PodGroup): a pod joins with the
  label `scheduling.x-k8s.io/pod-group: <name>` (PodGroupLabel, scheduler-plugins
  apis/scheduling/v1alpha1/types.go);
* Volcano (scheduling.volcano.sh/v1beta1 PodGroup): a pod joins with the annotation
  `scheduling.k8s.io/group-name: <name>` (KubeGroupNameAnnotationKey, volcano apis
  pkg/apis/scheduling/v1beta1/labels.go).

Both PodGroups carry spec.minMember, the number of pods that must be placed together; both are
read through the Volcano PodGroup reader of `gpuplane.objects` (the fields gpuplane uses are
spelled the same in both APIs).
"""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from gpuplane.errors import InputError
from gpuplane.live.cache import ClusterCache, PodRecord
from gpuplane.live.reflector import EventType, Kind, WatchEvent
from gpuplane.live.scheduling_queue import SchedulingQueue
from gpuplane.objects import VOLCANO_GROUP_ANNOTATION, read_api_objects
from gpuplane.placement import Placement, Scheduler, Unschedulable

log = logging.getLogger(__name__)

COSCHEDULING_LABEL = "scheduling.x-k8s.io/pod-group"
COSCHEDULING = Kind("scheduling.x-k8s.io", "v1alpha1", "podgroups")
VOLCANO = Kind("scheduling.volcano.sh", "v1beta1", "podgroups")
_VOLCANO_API = f"{VOLCANO.group}/{VOLCANO.version}"
#: Binds of a gang member tried, its place held, once another member of its gang is bound.
GANG_BIND_TRIES = 4


@dataclass(frozen=True, order=True)
class GangKey:
    api: str  # COSCHEDULING.group or VOLCANO.group
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


def gang_of(record: PodRecord) -> GangKey | None:
    """The PodGroup a pod belongs to, if any (the coscheduling label wins over Volcano's)."""
    if record.pod is None:
        return None
    name = record.pod.labels.get(COSCHEDULING_LABEL)
    if name:
        return GangKey(COSCHEDULING.group, record.namespace, name)
    name = record.pod.annotations.get(VOLCANO_GROUP_ANNOTATION)
    if name:
        return GangKey(VOLCANO.group, record.namespace, name)
    return None


class PodGroups:
    """minMember of every PodGroup seen, by gang key."""

    def __init__(self) -> None:
        self.min_member: dict[GangKey, int] = {}

    def event(self, kind: Kind, event: WatchEvent) -> None:
        namespace, name = event.key
        key = GangKey(kind.group, namespace or "default", name)
        if event.type is EventType.DELETED:
            self.min_member.pop(key, None)
            return
        obj = copy.deepcopy(event.obj)
        obj["apiVersion"] = _VOLCANO_API  # the same reader for both APIs' minMember
        try:
            (group,) = read_api_objects([obj]).pod_groups
        except (InputError, ValueError) as err:
            log.warning("PodGroup %s (%s) cannot be read, ignored: %s", key, kind.group, err)
            self.min_member.pop(key, None)
            return
        self.min_member[key] = group.min_member


@dataclass(frozen=True)
class GangFailure:
    """The gang could not be placed whole: the first member that did not fit, and why."""

    pod: str
    message: str


def place_gang(scheduler: Scheduler, members: list[PodRecord]) -> list[Placement] | GangFailure:
    """Place every member inside one trial; keep the trial only if all fit.

    The placements returned are reserved in the state; on a failure nothing is.
    """
    placements: list[Placement] = []
    with scheduler.state.trial() as trial:
        for record in members:
            assert record.pod is not None
            decision = scheduler.place(record.pod)
            if isinstance(decision, Unschedulable):
                return GangFailure(record.key, decision.message)
            placements.append(decision)
        trial.keep()
    return placements


def place_redeeming(cache: ClusterCache, members: list[PodRecord]) -> list[Placement] | GangFailure:
    """`place_gang` on the cache's state, the members taking over what was held for them.

    A pod admitted on a promise (live.admission) redeems the capacity held for it: that
    holding is released inside the trial and the pod tried first on the node it was promised,
    then anywhere; on a failure the holding stays as it was.
    """
    redeems = cache.redeem(members)
    if not redeems and len(members) == 1:  # the common case, without a trial
        (record,) = members
        assert record.pod is not None
        decision = cache.scheduler.place(record.pod)
        if isinstance(decision, Unschedulable):
            return GangFailure(record.key, decision.message)
        return [decision]
    if not redeems:
        return place_gang(cache.scheduler, members)
    pinned = []
    for record in members:
        held = cache.pods.get(redeems.get(record.key, ""))
        assert record.pod is not None
        if held is not None and held.node_name:
            record = replace(record, pod=replace(record.pod, node_name=held.node_name))
        pinned.append(record)
    with cache.state.trial() as trial:
        for key in redeems.values():
            cache.state.release(key)
        placed = place_gang(cache.scheduler, pinned)
        if isinstance(placed, GangFailure):
            placed = place_gang(cache.scheduler, members)
        if isinstance(placed, GangFailure):
            return placed
        trial.keep()
    for key in redeems.values():
        cache.redeemed(key)
    return placed


async def bind_holding(
    bind: Callable[[], Awaitable[str]], retake: Callable[[], bool], holding: bool, pause_s: float
) -> bool:
    """Bind a gang member; `holding` (part of its gang is bound): retry, `retake` holding its place.

    Once part of a gang is bound, a member's failed bind must not let go of its place: the pods
    queued meanwhile would fill it and the partly bound gang could never heal.
    """
    tries = GANG_BIND_TRIES if holding else 1
    for attempt in range(tries):
        if attempt:
            await asyncio.sleep(pause_s * attempt)
        if await bind() == "scheduled":
            return True
        if attempt + 1 == tries or not retake():
            return False
    return False


def retake_place(
    cache: ClusterCache, queue: SchedulingQueue, record: PodRecord, placement: Placement
) -> bool:
    """Assume again a placement whose bind just failed and released it (with no await since,
    so the place is still free), unless the API says the pod is gone or bound."""
    now = cache.pods.get(record.key)
    if now is None or now.uid != record.uid or now.node_name or now.terminal:
        return False
    if not queue.take(record.key):
        return False
    cache.assume(now, placement)
    return True


def gang_message(key: GangKey, min_member: int, failure: GangFailure) -> str:
    return (
        f"pod group {key} (minMember {min_member}) cannot be placed whole: "
        f"pod {failure.pod}: {failure.message}"
    )


def waiting_message(key: GangKey, ready: int, min_member: int | None) -> str:
    if min_member is None:
        return f"pod group {key} not found: waiting for it"
    return (
        f"pod group {key} has {ready} pods pending or bound, fewer than its minMember "
        f"{min_member}: waiting for more"
    )
