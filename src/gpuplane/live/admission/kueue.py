"""Kueue's side of the AdmissionCheck protocol, as gpuplane reads and writes it.

Kueue (kueue.x-k8s.io v1beta1 and v1beta2; the fields used here are spelled alike in both)
reserves quota for a Workload in `status.admission` with the condition QuotaReserved, lists the
checks of its ClusterQueue in `status.admissionChecks` as Pending, and admits it once every
check is Ready; a check set to Retry makes it release the quota and requeue the Workload. The
controller of an AdmissionCheck (`spec.controllerName`) sets the check's state, message and
podSetUpdates (labels, annotations, nodeSelector and tolerations that Kueue applies to the pod
templates when it starts the job), and keeps the AdmissionCheck's Active condition True.

Writes are JSON merge patches of the status subresource carrying the resourceVersion read, so
that a write based on a stale Workload fails with 409 (a merge patch replaces a whole list,
and Kueue writes the other checks' states in the same list).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gpuplane.live.reflector import Kind, Obj

GROUP = "kueue.x-k8s.io"
VERSIONS = ("v1beta2", "v1beta1")
CONTROLLER_NAME = "gpuplane.io/placement"
#: Put on the pods of an admitted pod set (podSetUpdates): "<workload>/<pod set>" in their
#: namespace, so that the scheduler lets them take the capacity held for them.
PROMISE_ANNOTATION = "gpuplane.io/promise"
#: The nodes promised to the pod set, one per pod, comma-separated: read back after a restart.
PROMISED_NODES_ANNOTATION = "gpuplane.io/promised-nodes"

PENDING, READY, RETRY, REJECTED = "Pending", "Ready", "Retry", "Rejected"
QUOTA_RESERVED, FINISHED, ACTIVE = "QuotaReserved", "Finished", "Active"
MERGE_PATCH = {"Content-Type": "application/merge-patch+json"}


def workloads(version: str) -> Kind:
    return Kind(GROUP, version, "workloads")


def admission_checks(version: str) -> Kind:
    return Kind(GROUP, version, "admissionchecks")


def now_text(now: datetime) -> str:
    """metav1.Time as the API server writes it: RFC 3339 in whole seconds, UTC."""
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _true(conditions: list[Any], kind: str) -> bool:
    return any(
        isinstance(c, dict) and c.get("type") == kind and c.get("status") == "True"
        for c in conditions
    )


@dataclass(frozen=True)
class PodSet:
    name: str
    count: int  # the admitted count (partial admission may lower the spec's)
    template: dict[str, Any]


@dataclass(frozen=True)
class CheckState:
    name: str
    state: str
    since: str  # lastTransitionTime as written
    message: str
    pod_set_updates: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class Workload:
    """What the controller reads of a Workload."""

    namespace: str
    name: str
    uid: str
    created: str
    resource_version: str
    pod_sets: tuple[PodSet, ...]
    quota_reserved: bool
    finished: bool
    checks: dict[str, CheckState]
    obj: Obj

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


def read_workload(obj: Obj) -> Workload:
    meta, spec, status = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
    admission = status.get("admission") or {}
    admitted = {
        str(a.get("name") or "main"): a.get("count")
        for a in admission.get("podSetAssignments") or []
        if isinstance(a, dict)
    }
    pod_sets = []
    for raw in spec.get("podSets") or []:
        name = str(raw.get("name") or "main")
        count = admitted.get(name)
        pod_sets.append(
            PodSet(
                name,
                int(count if count is not None else raw.get("count", 1)),
                raw.get("template") or {},
            )
        )
    conditions = status.get("conditions") or []
    checks = {
        str(c.get("name")): CheckState(
            str(c.get("name")),
            str(c.get("state") or ""),
            str(c.get("lastTransitionTime") or ""),
            str(c.get("message") or ""),
            tuple(c.get("podSetUpdates") or ()),
        )
        for c in status.get("admissionChecks") or []
        if isinstance(c, dict)
    }
    return Workload(
        namespace=str(meta.get("namespace") or "default"),
        name=str(meta.get("name") or ""),
        uid=str(meta.get("uid") or ""),
        created=str(meta.get("creationTimestamp") or ""),
        resource_version=str(meta.get("resourceVersion") or ""),
        pod_sets=tuple(pod_sets),
        quota_reserved=bool(admission) and _true(conditions, QUOTA_RESERVED),
        finished=_true(conditions, FINISHED),
        checks=checks,
        obj=obj,
    )


def check_patch(
    workload: Workload,
    check: str,
    state: str,
    message: str,
    now: datetime,
    pod_set_updates: list[dict[str, Any]] | None = None,
) -> Obj:
    """The status patch that sets one check's state (the others' as they are).

    lastTransitionTime moves only when the state changes, as Kueue's SetAdmissionCheckState
    does; podSetUpdates are replaced when given, else kept.
    """
    raw = (workload.obj.get("status") or {}).get("admissionChecks") or []
    entries = []
    for entry in raw:
        if entry.get("name") == check:
            entry = dict(entry)
            if entry.get("state") != state:
                entry["lastTransitionTime"] = now_text(now)
            entry["state"], entry["message"] = state, message
            if pod_set_updates is not None:
                entry["podSetUpdates"] = pod_set_updates
        entries.append(entry)
    return {
        "metadata": {"resourceVersion": workload.resource_version},
        "status": {"admissionChecks": entries},
    }


def pod_set_update(workload: Workload, pod_set: str, nodes: list[str]) -> dict[str, Any]:
    """What Kueue puts on an admitted pod set's pods: which promise they redeem, and where."""
    return {
        "name": pod_set,
        "annotations": {
            PROMISE_ANNOTATION: f"{workload.name}/{pod_set}",
            PROMISED_NODES_ANNOTATION: ",".join(nodes),
        },
    }


def promised_nodes(state: CheckState) -> dict[str, list[str]]:
    """Pod set -> the nodes promised to its pods, from a Ready check's podSetUpdates."""
    found = {}
    for update in state.pod_set_updates:
        text = (update.get("annotations") or {}).get(PROMISED_NODES_ANNOTATION)
        if isinstance(text, str):
            found[str(update.get("name"))] = [n for n in text.split(",") if n]
    return found


def is_ours(check: Obj) -> bool:
    """The AdmissionCheck is run by this controller (others' are left alone)."""
    return (check.get("spec") or {}).get("controllerName") == CONTROLLER_NAME


def active_condition(check: Obj, now: datetime) -> tuple[dict[str, Any], bool]:
    """The Active condition our controller keeps on an AdmissionCheck, and whether the object
    needs it written (it is absent, different, or of an older generation)."""
    meta, spec = check.get("metadata") or {}, check.get("spec") or {}
    generation = int(meta.get("generation") or 0)
    if spec.get("parameters"):
        status, reason = "False", "BadParametersRef"
        message = f"{CONTROLLER_NAME} takes no parameters; remove spec.parameters"
    else:
        status, reason, message = "True", "Active", "The admission check is active"
    want: dict[str, Any] = {"type": ACTIVE, "status": status, "reason": reason, "message": message}
    if generation:
        want["observedGeneration"] = generation
    conditions = (check.get("status") or {}).get("conditions") or []
    current = next((c for c in conditions if c.get("type") == ACTIVE), None)
    if current is not None and all(current.get(k) == v for k, v in want.items()):
        return current, False
    if current is None or current.get("status") != status:
        since = now_text(now)
    else:
        since = str(current.get("lastTransitionTime"))
    return {**want, "lastTransitionTime": since}, True


def active_patch(check: Obj, condition: dict[str, Any]) -> Obj:
    meta = check.get("metadata") or {}
    conditions = (check.get("status") or {}).get("conditions") or []
    others = [c for c in conditions if c.get("type") != ACTIVE]
    return {
        "metadata": {"resourceVersion": meta.get("resourceVersion")},
        "status": {"conditions": [*others, condition]},
    }
