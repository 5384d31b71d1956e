"""Promises: capacity held in the scheduler's ClusterState for Workloads whose check is Ready.

A promise is one held record per pod of the Workload (a "phantom": a PodRecord no watch
reports, keyed `<namespace>/<workload>#<pod set>#<i>`, a name no pod can have), on the node
and devices the brain chose. Phantoms are held like bound pods (through every rebuild of the
state), so nothing else is placed there. A pod of the Workload (annotated by the check's
podSetUpdates with `gpuplane.io/promise: <workload>/<pod set>`) redeems one phantom of its pod
set when the scheduler places it (`ClusterCache.redeem`, `gangs.place_redeeming`); the promise
is kept until every phantom is redeemed, or it expires, or the Workload loses its quota.

A promise is also rebuilt from a Workload's status: a Ready check lists, per pod set, the nodes
promised (gpuplane.io/promised-nodes in its podSetUpdates); the phantoms are those nodes less
the nodes of the pods of that pod set already bound. That is how a restarted controller (or a
follower that becomes leader) holds exactly what was promised, once.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime

from gpuplane.errors import InputError
from gpuplane.live.admission.kueue import (
    CONTROLLER_NAME,
    PROMISE_ANNOTATION,
    Workload,
    now_text,
)
from gpuplane.live.cache import ClusterCache, PodRecord
from gpuplane.objects import Pod, read_api_objects
from gpuplane.placement import Placement, Unschedulable

log = logging.getLogger(__name__)


@dataclass
class Promise:
    workload: str  # namespace/name
    uid: str
    expires: datetime
    #: Pod set -> the keys of its phantoms (a redeemed one is no longer in the cache).
    keys: dict[str, list[str]] = field(default_factory=dict)


class PromiseBook:
    """The promises held in one scheduler's cache, by workload key."""

    def __init__(self, cache: ClusterCache) -> None:
        self.cache = cache
        self.promises: dict[str, Promise] = {}
        cache.redeem = self.redeem

    def outstanding(self, workload: str) -> list[str]:
        promise = self.promises.get(workload)
        if promise is None:
            return []
        return [k for keys in promise.keys.values() for k in keys if k in self.cache.pods]

    def pods(self, workload: Workload) -> list[tuple[str, Pod]] | str:
        """One pod per admitted pod of each pod set, as phantoms; a message if unreadable."""
        found: list[tuple[str, Pod]] = []
        for pod_set in workload.pod_sets:
            template = pod_set.template
            obj = {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "phantom", "namespace": workload.namespace},
                "spec": template.get("spec") or {},
            }
            try:
                (pod,) = read_api_objects([obj]).pods
            except (InputError, ValueError) as err:
                return f"pod set {pod_set.name!r} cannot be read: {err}"
            for i in range(pod_set.count):
                name = f"{workload.name}#{pod_set.name}#{i}"
                phantom = replace(pod, name=name, scheduler_name=CONTROLLER_NAME)
                found.append((pod_set.name, phantom))
        return found

    def make(self, workload: Workload, expires: datetime, now: datetime) -> Promise | str:
        """Place every pod of the Workload together and hold the placements; else say why not."""
        pods = self.pods(workload)
        if isinstance(pods, str):
            return pods
        self.cache.sync()
        scheduler = self.cache.scheduler
        placements: list[tuple[str, Placement]] = []
        with self.cache.state.trial() as trial:
            counts = Counter(name for name, _ in pods)
            seen: Counter[str] = Counter()
            for pod_set, pod in pods:
                seen[pod_set] += 1
                decision = scheduler.place(pod)
                if isinstance(decision, Unschedulable):
                    return (
                        f"the pods cannot all be placed now: pod set {pod_set!r}, pod "
                        f"{seen[pod_set]} of {counts[pod_set]}: {decision.message}"
                    )
                placements.append((pod_set, decision))
            trial.keep()
        promise = Promise(workload.key, workload.uid, expires)
        for pod_set, placement in placements:
            record = self._record(workload, placement.pod, placement.node, now)
            self.cache.assume(record, placement, reserved=True)
            promise.keys.setdefault(pod_set, []).append(record.key)
        self.promises[workload.key] = promise
        return promise

    def nodes(self, workload: str) -> dict[str, list[str]]:
        """Pod set -> the nodes of its outstanding phantoms (what the check writes)."""
        promise = self.promises[workload]
        return {
            pod_set: [
                self.cache.pods[k].node_name or "" for k in keys if k in self.cache.pods
            ]
            for pod_set, keys in promise.keys.items()
        }

    def restore(
        self, workload: Workload, nodes: dict[str, list[str]], expires: datetime, now: datetime
    ) -> Promise:
        """Hold again what a Ready check promised, less what its bound pods took already."""
        pods = self.pods(workload)
        by_set = {} if isinstance(pods, str) else {s: p for s, p in reversed(pods)}
        bound = self._bound(workload)
        promise = Promise(workload.key, workload.uid, expires)
        for pod_set, promised in nodes.items():
            left = Counter(promised) - bound.get(pod_set, Counter())
            template = by_set.get(pod_set)
            keys = promise.keys.setdefault(pod_set, [])
            if template is None:
                continue
            for i, node in enumerate(sorted(left.elements())):
                pod = replace(template, name=f"{workload.name}#{pod_set}#{i}")
                record = self._record(workload, pod, node, now)
                self.cache.hold_record(record)
                keys.append(record.key)
        self.promises[workload.key] = promise
        log.info("workload %s: promise restored: %s", workload.key, self.nodes(workload.key))
        return promise

    def release(self, workload: str, why: str) -> None:
        """Let go of what is still held for a workload; the promise stays known (as kept)."""
        for key in self.outstanding(workload):
            self.cache.let_go(key, why)

    def forget(self, workload: str, why: str) -> None:
        self.release(workload, why)
        self.promises.pop(workload, None)

    def redeem(self, records: list[PodRecord]) -> dict[str, str]:
        """The cache's hook: the phantom each pod of a promise takes over."""
        taken: dict[str, str] = {}
        used: set[str] = set()
        for record in records:
            ref = record.pod.annotations.get(PROMISE_ANNOTATION) if record.pod else None
            if not ref:
                continue
            workload, _, pod_set = ref.partition("/")
            promise = self.promises.get(f"{record.namespace}/{workload}")
            if promise is None:
                continue
            for key in promise.keys.get(pod_set, []):
                if key in self.cache.held and key not in used:
                    taken[record.key] = key
                    used.add(key)
                    break
        return taken

    def _bound(self, workload: Workload) -> dict[str, Counter[str]]:
        """Pod set -> the nodes its pods are bound to (pods not finished)."""
        found: dict[str, Counter[str]] = {}
        for record in self.cache.pods.values():
            if record.pod is None or not record.node_name or record.terminal:
                continue
            if record.scheduler_name == CONTROLLER_NAME or record.namespace != workload.namespace:
                continue
            ref = record.pod.annotations.get(PROMISE_ANNOTATION, "")
            name, _, pod_set = ref.partition("/")
            if name == workload.name:
                found.setdefault(pod_set, Counter())[record.node_name] += 1
        return found

    def _record(self, workload: Workload, pod: Pod, node: str, now: datetime) -> PodRecord:
        key = f"{workload.namespace}/{pod.name}"
        meta = {"name": pod.name, "namespace": workload.namespace}
        return PodRecord(
            key=key,
            uid=workload.uid,
            obj={"metadata": meta},
            pod=replace(pod, labels={}, annotations={}, node_name=None),
            error=None,
            node_name=node,
            phase="Pending",
            scheduler_name=CONTROLLER_NAME,
            created=now_text(now),
            priority=0,
        )
