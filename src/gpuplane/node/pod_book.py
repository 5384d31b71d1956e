"""The pods bound to this node, with the devices the scheduler chose for each of their containers.

The kubelet's GetPreferredAllocation and Allocate say only "N devices of resource R", never for
which pod. Like HAMi's and Volcano's device plugins, the agent gives such a request to the
pending pod on its node bound longest ago (the scheduler's bind-time annotation, else the
PodScheduled condition's time) whose next container not yet served asks N of R; once every
container of a pod is served the pod is marked allocated and never matched again.

A pod's device assignment (`gpuplane.objects.assignment`) names brain devices for the whole
pod; here it is cut into one `Share` per container and resource, in container order, each
device turned into the kubelet device IDs it may be served with: exactly one for whole GPUs,
MIG devices and replicas; any split device of the GPU for a whole fractional GPU; for a
fraction (a GPU index with milli-GPU and memory, no device), any device of the resource on
that GPU (any of its split devices the kubelet still has free).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from gpuplane.errors import InputError, Location
from gpuplane.node.devices import NodePlan, PluginDevice
from gpuplane.objects.assignment import (
    ALLOCATED,
    ALLOCATED_ANNOTATION,
    BIND_TIME_ANNOTATION,
    DEVICES_ANNOTATION,
    DeviceAssignment,
    decode_assignment,
    decode_bind_time,
)

Obj = Mapping[str, Any]
PodKey = tuple[str, str]  # (namespace, name)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Share:
    """What one container of one pod is to get from one resource."""

    pod: PodKey
    uid: str
    container: str
    resource: str
    #: Per device: the kubelet IDs that may serve it, in the plugin's order.
    slots: tuple[tuple[str, ...], ...]
    #: The brain's device ids (or "gpuN" for a fraction), parallel to slots, for messages.
    names: tuple[str, ...]
    #: For a fraction: (milli-GPU, memory MiB) per device; empty for whole devices.
    fraction: tuple[tuple[int, int], ...] = ()

    @property
    def pod_name(self) -> str:
        return f"{self.pod[0]}/{self.pod[1]}"

    def describe(self) -> str:
        pairs = zip(self.names, self.slots, strict=True)
        return ", ".join(f"{name} ({'|'.join(slot)})" for name, slot in pairs)

    def pick(self, offered: list[str]) -> list[str] | None:
        """One ID per slot among `offered` (each used once), or None when a slot has none."""
        left = list(offered)
        out = []
        for slot in self.slots:
            found = next((i for i in slot if i in left), None)
            if found is None:
                return None
            left.remove(found)
            out.append(found)
        return out


@dataclass
class BookedPod:
    key: PodKey
    uid: str
    order: tuple[datetime, datetime, str, str]
    shares: tuple[Share, ...]
    #: Why the pod's assignment cannot be served here; the pod is then never matched.
    error: str | None = None
    served: set[int] = field(default_factory=set)

    @property
    def done(self) -> bool:
        return len(self.served) == len(self.shares)


@dataclass(frozen=True)
class _Unassigned:
    """A pending pod without a gpuplane assignment: its requests keep today's answers."""

    asks: frozenset[tuple[str, int]]


class PodBook:
    """Thread-safe: the pod watch updates it, the plugins' gRPC threads match against it."""

    def __init__(self, plan: NodePlan, node: str) -> None:
        self.node = node
        #: The scheduler's device id -> the kubelet devices that serve it (several for a
        #: fractional GPU, cut into split devices).
        self._by_brain: dict[str, list[PluginDevice]] = {}
        for d in plan.devices:
            self._by_brain.setdefault(d.device.scheduler_id, []).append(d)
        self._by_gpu: dict[tuple[str, int], list[PluginDevice]] = {}
        for d in plan.devices:
            self._by_gpu.setdefault((d.resource, d.gpu.index), []).append(d)
        self._resources = {d.resource for d in plan.devices}
        self._pods: dict[PodKey, BookedPod] = {}
        self._unassigned: dict[PodKey, _Unassigned] = {}
        self._allocated: set[str] = set()  # uids, so that a late echo cannot revive a pod
        self._version = 0
        self.lock = threading.Condition(threading.RLock())

    # ---------------------------------------------------------------- from the watch

    def update(self, obj: Obj) -> None:
        """Record the pod's current state (ADDED or MODIFIED)."""
        meta = obj.get("metadata") or {}
        key: PodKey = (str(meta.get("namespace") or ""), str(meta.get("name") or ""))
        with self.lock:
            before = self._pods.pop(key, None)
            self._unassigned.pop(key, None)
            self._read(key, obj)
            now = self._pods.get(key)
            if (
                before is not None
                and now is not None
                and (now.uid, now.shares) == (before.uid, before.shares)
            ):
                # A status update must not forget the containers already served.
                now.served = before.served
            self._version += 1
            self.lock.notify_all()

    def remove(self, obj: Obj) -> None:
        meta = obj.get("metadata") or {}
        key: PodKey = (str(meta.get("namespace") or ""), str(meta.get("name") or ""))
        with self.lock:
            self._pods.pop(key, None)
            self._unassigned.pop(key, None)
            self._allocated.discard(str(meta.get("uid") or ""))
            self._version += 1
            self.lock.notify_all()

    def _read(self, key: PodKey, obj: Obj) -> None:
        meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
        status = obj.get("status") or {}
        annotations = meta.get("annotations") or {}
        uid = str(meta.get("uid") or "")
        if (
            spec.get("nodeName") != self.node
            or status.get("phase", "Pending") != "Pending"
            or meta.get("deletionTimestamp")
            or annotations.get(ALLOCATED_ANNOTATION) == ALLOCATED
            or uid in self._allocated
        ):
            return
        where = Location(file=f"pod {key[0]}/{key[1]}")
        asks = _asks(spec, self._resources)
        if DEVICES_ANNOTATION not in annotations:
            if asks:
                self._unassigned[key] = _Unassigned(frozenset((r, n) for _, r, n in asks))
            return
        created = _time(meta.get("creationTimestamp"))
        booked = BookedPod(key, uid, (_EPOCH, created, *key), ())
        try:
            booked.order = (_bind_time(annotations, status, where), created, *key)
            assignment = decode_assignment(str(annotations[DEVICES_ANNOTATION]), where)
            if assignment.node != self.node:
                raise InputError(f"assigned to node {assignment.node!r}, not {self.node!r}")
            booked.shares = self._shares(key, uid, assignment, asks)
        except InputError as exc:
            booked.error = str(exc)
        self._pods[key] = booked

    def _shares(
        self,
        key: PodKey,
        uid: str,
        assignment: DeviceAssignment,
        asks: list[tuple[str, str, int]],
    ) -> tuple[Share, ...]:
        if assignment.devices:
            chosen: list[tuple[str, list[PluginDevice]]] = []
            for brain in assignment.devices:
                devices = self._by_brain.get(brain)
                if devices is None:
                    raise InputError(f"device {brain} is not advertised on this node")
                chosen.append((brain, devices))
            shares = []
            for container, resource, count in asks:
                mine = [c for c in chosen if c[1][0].resource == resource][:count]
                for c in mine:
                    chosen.remove(c)
                if len(mine) != count:
                    raise InputError(
                        f"container {container} asks {count} {resource}, the assignment "
                        f"holds {len(mine)}"
                    )
                served_by = tuple(tuple(d.id for d in devices) for _, devices in mine)
                names = tuple(brain for brain, _ in mine)
                shares.append(Share(key, uid, container, resource, served_by, names))
            if chosen:
                left = ", ".join(brain for brain, _ in chosen)
                raise InputError(f"no container asks for the assigned device(s) {left}")
            return tuple(shares)
        entries = list(
            zip(assignment.gpus, assignment.gpu_milli, assignment.gpu_memory_mib, strict=True)
        )
        if sum(count for _, _, count in asks) != len(entries):
            raise InputError(
                f"the assignment holds {len(entries)} GPU share(s), the containers ask "
                f"{sum(count for _, _, count in asks)} device(s)"
            )
        shares = []
        for container, resource, count in asks:
            taken, entries = entries[:count], entries[count:]
            slots: list[tuple[str, ...]] = []
            for gpu, _, _ in taken:
                ids = tuple(d.id for d in self._by_gpu.get((resource, gpu), []))
                if not ids:
                    raise InputError(f"GPU {gpu} has no {resource} device on this node")
                slots.append(ids)
            names = tuple(f"gpu{gpu}" for gpu, _, _ in taken)
            fraction = tuple((milli, memory) for _, milli, memory in taken)
            shares.append(Share(key, uid, container, resource, tuple(slots), names, fraction))
        return tuple(shares)

    # ---------------------------------------------------------------- for the plugins

    @property
    def version(self) -> int:
        with self.lock:
            return self._version

    def wait(self, version: int, timeout: float) -> None:
        """Wait until the book changes past `version`, at most `timeout` seconds."""
        with self.lock:
            self.lock.wait_for(lambda: self._version != version, timeout)

    def match(self, resource: str, count: int) -> tuple[BookedPod, int] | None:
        """The oldest-bound pending pod's next unserved share of `count` devices of `resource`."""
        with self.lock:
            for pod in sorted(self._pods.values(), key=lambda p: p.order):
                if pod.error is not None or pod.done:
                    continue
                for index, share in enumerate(pod.shares):
                    if index in pod.served or share.resource != resource:
                        continue
                    if len(share.slots) == count:
                        return pod, index
                    break  # a pod's containers are served in order
            return None

    def serve(self, pod: BookedPod, index: int) -> bool:
        """Mark one share served; True when the pod now has all its devices."""
        with self.lock:
            # The watch may have replaced the pod's entry since it was matched: mark the live one.
            current = self._pods.get(pod.key)
            if current is not None and current.uid == pod.uid and current.shares == pod.shares:
                pod = current
            pod.served.add(index)
            if pod.done:
                self._allocated.add(pod.uid)
                if current is pod:
                    del self._pods[pod.key]
                self._version += 1
                self.lock.notify_all()
                return True
            return False

    def unassigned_asks(self, resource: str, count: int) -> bool:
        """Whether a pending pod without an assignment asks `count` of `resource`."""
        with self.lock:
            return any((resource, count) in u.asks for u in self._unassigned.values())

    def pending(self, resource: str) -> list[str]:
        """What the pending pods with assignments hold of `resource`, for refusals."""
        with self.lock:
            out = []
            for pod in sorted(self._pods.values(), key=lambda p: p.order):
                name = f"{pod.key[0]}/{pod.key[1]}"
                if pod.error is not None:
                    out.append(f"{name}: {pod.error}")
                    continue
                out += [
                    f"{name} container {s.container}: {len(s.slots)}"
                    for i, s in enumerate(pod.shares)
                    if s.resource == resource and i not in pod.served
                ]
            return out


def _asks(spec: Obj, resources: set[str]) -> list[tuple[str, str, int]]:
    """(container, resource, count) of the app containers for the served resources, in order."""
    out = []
    for container in spec.get("containers") or []:
        res = container.get("resources") or {}
        # The kubelet's device manager reads limits; extended resources need requests == limits.
        amounts = {**(res.get("requests") or {}), **(res.get("limits") or {})}
        for resource in sorted(amounts):
            if resource not in resources:
                continue
            text = str(amounts[resource])
            count = int(text) if text.isdigit() else 0
            if count:
                out.append((str(container.get("name") or ""), resource, count))
    return out


def _bind_time(annotations: Obj, status: Obj, where: Location) -> datetime:
    if BIND_TIME_ANNOTATION in annotations:
        return decode_bind_time(str(annotations[BIND_TIME_ANNOTATION]), where)
    for condition in status.get("conditions") or []:
        if condition.get("type") == "PodScheduled" and condition.get("status") == "True":
            return _time(condition.get("lastTransitionTime"))
    return _EPOCH


def _time(text: object) -> datetime:
    if not isinstance(text, str):
        return _EPOCH
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return _EPOCH
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)
