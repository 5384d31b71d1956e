"""The scheduler's view of the cluster: Nodes as a ClusterState, and what every bound pod holds.

Fed by the reflectors' events. Every pod bound to a node and not terminal (Succeeded, Failed)
holds capacity; a terminal or deleted pod releases it. A pod that carries gpuplane's device
annotation holds exactly the devices and shares written there, so a restarted scheduler rebuilds
the state its predecessor had. A pod bound by another scheduler (or by gpuplane without the
annotation) holds what it requests, on devices the brain's own assignment chooses on that node:
its real devices are unknown to us, but the amounts are right, which is what keeps gpuplane from
over-booking a GPU that another scheduler filled.

Holdings are keyed by pod key (namespace/name) with the pod's uid beside it: the watch echo of a
pod we bound finds it already held under the same uid and counts nothing twice; a pod recreated
under the same name (a new uid) first releases the old one's holding.

A change in the node set, or in a node's labels, taints or allocatable, rebuilds the whole
ClusterState from the Nodes and re-reserves every bound pod: O(nodes + bound pods) per such
change, done lazily at the next `sync()` (the scheduler calls it before each attempt), so a
burst of node events (the first list of 5,000 nodes) costs one rebuild. Node heartbeats do not
change what the reader makes of a Node, so they cost one read.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from gpuplane.cluster import ClusterState
from gpuplane.cluster.binding import CapacityError, binding_for
from gpuplane.errors import InputError, Location
from gpuplane.live.reflector import EventType, Obj, WatchEvent
from gpuplane.objects import Node, Pod, read_api_objects
from gpuplane.objects.assignment import (
    BIND_TIME_ANNOTATION,
    DEVICES_ANNOTATION,
    DeviceAssignment,
    decode_assignment,
)
from gpuplane.placement import Placement, Profile, Scheduler
from gpuplane.placement.filters import NodeNameFilter, NodeResourcesFitFilter

log = logging.getLogger(__name__)

TERMINAL_PHASES = ("Succeeded", "Failed")
# Fit on the node a pod is already bound to, whatever taints or selectors say: a pod that runs
# there holds capacity there, however it got there.
_HOLD_PROFILE = Profile("hold", [NodeNameFilter(), NodeResourcesFitFilter()], [])


@dataclass
class PodRecord:
    """One pod as the API holds it: the brain's Pod beside what the brain does not keep."""

    key: str  # namespace/name
    uid: str
    obj: Obj
    pod: Pod | None  # None when the readers refused the pod
    error: str | None  # why the readers refused it
    node_name: str | None
    phase: str
    scheduler_name: str
    created: str
    priority: int
    assignment: DeviceAssignment | None = None

    @property
    def terminal(self) -> bool:
        return self.phase in TERMINAL_PHASES

    @property
    def namespace(self) -> str:
        return self.key.split("/", 1)[0]

    @property
    def name(self) -> str:
        return self.key.split("/", 1)[1]


#: What our binding writes on a pod: the readers keep it in Pod.annotations and read nothing
#: else from it, so a change in it alone need not be read again.
_BINDING_ANNOTATIONS = (DEVICES_ANNOTATION, BIND_TIME_ANNOTATION)


def _read_view(obj: Obj) -> tuple[object, ...]:
    """What the readers make a Pod of, less what binding a pod changes (its node, our
    annotations) and what they never read (status, resourceVersion, managedFields)."""
    meta = dict(obj.get("metadata") or {})
    meta.pop("resourceVersion", None)
    meta.pop("managedFields", None)
    annotations = meta.get("annotations") or {}
    meta["annotations"] = {k: v for k, v in annotations.items() if k not in _BINDING_ANNOTATIONS}
    spec = dict(obj.get("spec") or {})
    spec.pop("nodeName", None)
    return (obj.get("apiVersion"), obj.get("kind"), meta, spec)


def _reread(before: PodRecord | None, obj: Obj) -> Pod | None:
    """The pod `before` held, updated for `obj`, when they differ only in what a binding
    changes (the watch's MODIFIED events of our own patch and bind: reading each costs as
    much as a scheduling decision); None when it must be read again."""
    if before is None or before.pod is None or before.error is not None:
        return None
    if _read_view(before.obj) != _read_view(obj):
        return None
    meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
    annotations = meta.get("annotations") or {}
    if not all(isinstance(v, str) for v in annotations.values()):
        return None  # the reader refuses it with its own error
    node = spec.get("nodeName")
    if node is not None and not isinstance(node, str):
        return None
    return replace(before.pod, node_name=node or None, annotations=dict(annotations))


def pod_record(obj: Obj, before: PodRecord | None = None) -> PodRecord:
    """Read a Pod object; a refused one is kept with its error (never raises).

    `before`: the same pod's previous record, if any: its Pod is reused when only what a
    binding changes differs (see `_reread`)."""
    meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
    key = f"{meta.get('namespace') or 'default'}/{meta.get('name') or ''}"
    pod: Pod | None = None
    error: str | None = None
    assignment: DeviceAssignment | None = None
    try:
        pod = _reread(before, obj)
        if pod is None:
            (pod,) = read_api_objects([obj]).pods
        text = (meta.get("annotations") or {}).get(DEVICES_ANNOTATION)
        if text is not None:
            assignment = decode_assignment(text, Location(f"Pod {key}"))
    except InputError as err:
        error = str(err) if err.where is None else f"{err.where}: {err}"
    except ValueError as err:  # no pod came back (a List or a kind the reader skipped)
        error = f"Pod {key}: not readable ({err})"
    return PodRecord(
        key=key,
        uid=str(meta.get("uid") or ""),
        obj=obj,
        pod=pod,
        error=error,
        node_name=spec.get("nodeName") or None,
        phase=str((obj.get("status") or {}).get("phase") or "Pending"),
        scheduler_name=str(spec.get("schedulerName") or "default-scheduler"),
        created=str(meta.get("creationTimestamp") or ""),
        priority=int(spec.get("priority") or 0),
        assignment=assignment,
    )


@dataclass
class ClusterCache:
    """Nodes, pods and the ClusterState they make; `scheduler` runs the brain on that state."""

    profile_name: str
    #: Called after the state changed in a way that may let a waiting pod fit (what: a reason).
    on_change: Callable[[str], None] = lambda what: None
    nodes: dict[str, Node] = field(default_factory=dict)
    pods: dict[str, PodRecord] = field(default_factory=dict)
    #: Pod key -> uid of the pod whose capacity the state holds under that key.
    held: dict[str, str] = field(default_factory=dict)
    #: Pods held on our own say-so (bound by us, the watch has not confirmed it yet).
    assumed: set[str] = field(default_factory=set)
    #: Bound pods that could not be counted (node unknown, or no fit in our view).
    uncounted: set[str] = field(default_factory=set)
    rebuilds: int = 0
    #: Holdings that pods about to be placed take over (live.admission's promises): pod key ->
    #: the held key it redeems, each held key at most once.
    redeem: Callable[[list[PodRecord]], dict[str, str]] = lambda records: {}
    #: The nodes changed since the state was built: `sync()` rebuilds it.
    dirty: bool = False
    state: ClusterState = field(init=False)
    scheduler: Scheduler = field(init=False)

    def __post_init__(self) -> None:
        self._rebuild()

    # -- nodes -----------------------------------------------------------------------------

    def node_event(self, event: WatchEvent) -> None:
        name = str((event.obj.get("metadata") or {}).get("name") or "")
        before = self.nodes.get(name)
        if event.type is EventType.DELETED:
            self.nodes.pop(name, None)
        else:
            try:
                (node,) = read_api_objects([event.obj]).nodes
            except (InputError, ValueError) as err:
                log.warning("node %s cannot be read, left out: %s", name, err)
                self.nodes.pop(name, None)
            else:
                # What the reader made of it, its source aside: heartbeats change nothing here.
                self.nodes[name] = replace(node, source=Location())
        if self.nodes.get(name) != before:
            self.dirty = True
            self.on_change("node")

    def sync(self) -> None:
        """Rebuild the state if the nodes changed since it was built."""
        if self.dirty:
            self._rebuild()

    def _rebuild(self) -> None:
        """A fresh state from the nodes (in name order, so every replica sees the same order)."""
        self.rebuilds += 1
        self.dirty = False
        self.state = ClusterState([self.nodes[n] for n in sorted(self.nodes)])
        self.scheduler = Scheduler(self.state, self.profile_name)
        self._holder = Scheduler(self.state, _HOLD_PROFILE)
        self.held.clear()
        self.uncounted.clear()
        bound = [r for r in self.pods.values() if r.node_name and not r.terminal and r.pod]
        # Exact holdings first, so that a brain-chosen device never takes an annotated one.
        bound.sort(key=lambda r: (r.assignment is None, r.created, r.key))
        for record in bound:
            self._hold(record)

    # -- pods ------------------------------------------------------------------------------

    def pod_event(self, event: WatchEvent) -> PodRecord:
        """Apply one pod change; returns the pod's record (removed from `pods` when deleted)."""
        meta = event.obj.get("metadata") or {}
        before = self.pods.get(f"{meta.get('namespace') or 'default'}/{meta.get('name') or ''}")
        same = before is not None and before.uid == str(meta.get("uid") or "")
        record = pod_record(event.obj, before if same else None)
        key = record.key
        if event.type is EventType.DELETED:
            self.pods.pop(key, None)
            self._release(key, "pod deleted")
            return record
        old = self.pods.get(key)
        self.pods[key] = record
        if old is not None and old.uid != record.uid:
            self._release(key, "pod recreated")
        if record.terminal or record.pod is None:
            self._release(key, "pod finished")
            return record
        if record.node_name is None:
            if key in self.assumed and old is not None and old.node_name:
                # Our assumed binding is still in flight: keep it until bind answers.
                self.pods[key] = replace(record, node_name=old.node_name, assignment=old.assignment)
            return record
        if self.dirty:
            self.assumed.discard(key)
            return record  # the coming rebuild holds every bound pod from the records
        held_node = self._held_node(key)
        if key in self.held and held_node == record.node_name:
            self.assumed.discard(key)  # the echo of our own binding: already counted
            return record
        if key in self.held:
            self._release(key, "bound elsewhere")  # the API's node, not our guess, is the truth
        self._hold(record)
        return record

    def _held_node(self, key: str) -> str | None:
        binding = self.state.bindings.get(key)
        return None if binding is None else self.state.nodes[binding.node].name

    def _hold(self, record: PodRecord) -> None:
        """Reserve what a bound pod holds: its annotation's devices, else the brain's choice."""
        assert record.pod is not None and record.node_name is not None
        node = self.state.index.get(record.node_name)
        if node is None:
            self.uncounted.add(record.key)  # counted when its node arrives (a rebuild)
            return
        a = record.assignment
        if a is not None and a.node == record.node_name:
            shares = zip(a.gpus, a.gpu_milli, a.gpu_memory_mib, strict=True)
            try:
                self.state.reserve(binding_for(record.pod, node, shares, devices=a.devices))
            except (CapacityError, KeyError, IndexError) as err:
                log.warning("pod %s: its device annotation does not fit: %s", record.key, err)
            else:
                self._held(record)
                return
        pinned = replace(record.pod, node_name=record.node_name)
        decision = self._holder.schedule(pinned)
        if isinstance(decision, Placement):
            self._holder.bind(decision)
            self._held(record)
            return
        log.warning(
            "pod %s runs on %s but does not fit there in gpuplane's view (%s); not counted",
            record.key,
            record.node_name,
            decision.message,
        )
        self.uncounted.add(record.key)

    def _held(self, record: PodRecord) -> None:
        self.held[record.key] = record.uid
        self.uncounted.discard(record.key)

    def _release(self, key: str, why: str) -> None:
        self.uncounted.discard(key)
        self.assumed.discard(key)
        if self.held.pop(key, None) is None:
            return
        self.state.release(key)
        self.on_change(why)

    # -- holdings of no pod (promises) ------------------------------------------------------

    def hold_record(self, record: PodRecord) -> None:
        """Hold capacity for a record no watch reports (a promise), on its node and devices
        (`assignment`), from now on and through every rebuild, until `let_go`."""
        self.pods[record.key] = record
        if not self.dirty:
            self._hold(record)

    def let_go(self, key: str, why: str) -> None:
        """Release a record held by `hold_record` and forget it."""
        self.pods.pop(key, None)
        self._release(key, why)

    def redeemed(self, key: str) -> None:
        """Forget a holding whose capacity a placement took over (the state released it)."""
        self.pods.pop(key, None)
        self.held.pop(key, None)
        self.assumed.discard(key)
        self.uncounted.discard(key)

    # -- our own decisions -----------------------------------------------------------------

    def assume(self, record: PodRecord, placement: Placement, reserved: bool = False) -> None:
        """Hold a placement we are about to bind (reserving it unless a trial already did)."""
        if not reserved:
            self.scheduler.bind(placement)
        self.held[record.key] = record.uid
        self.assumed.add(record.key)
        self.pods[record.key] = replace(
            record, node_name=placement.node, assignment=assignment_of(placement)
        )

    def forget(self, key: str) -> None:
        """Drop an assumed placement whose bind failed; a confirmed holding stays."""
        if key not in self.assumed:
            return
        record = self.pods.get(key)
        if record is not None and record.node_name:
            self.pods[key] = replace(record, node_name=None, assignment=None)
        self._release(key, "binding failed")

    def pending(self, scheduler_name: str) -> list[PodRecord]:
        """Our pods that wait for a node."""
        return [
            r
            for r in self.pods.values()
            if r.scheduler_name == scheduler_name and not r.node_name and not r.terminal
        ]


def fingerprint(record: PodRecord) -> object:
    """What scheduling reads of a pod: its status and versions left out (kube-scheduler's
    isPodUpdated ignores them too), so our own status writes do not look like updates."""
    return (record.uid, None if record.pod is None else replace(record.pod, source=Location()))


def assignment_of(placement: Placement) -> DeviceAssignment:
    """The annotation's content for a placement."""
    return DeviceAssignment(
        node=placement.node,
        gpus=placement.gpus,
        gpu_milli=placement.gpu_milli,
        gpu_memory_mib=placement.gpu_memory_mib,
        devices=placement.devices,
    )
