"""`--anonymize`: every name that could say whose cluster it is, hashed the same way everywhere.

Names of objects, namespaces and nodes, and every reference to one (a pod's node, queue,
PriorityClass and PodGroup, a LocalQueue's ClusterQueue, a ClusterQueue's cohort and flavors,
a node's hostname and node-pool labels) become `h` and 12 hex digits of a salted SHA-256, so a
reference still names what it named. Labels of pods and Jobs other than the queue and priority
references are dropped. Resource names, GPU labels and quantities are kept: the twin needs them.
"""

from __future__ import annotations

import copy
import hashlib
from typing import Any

from gpuplane.live.reflector import Obj
from gpuplane.live.snapshot.clean import VOLCANO_QUEUE_ANNOTATION
from gpuplane.live.snapshot.collect import Collected
from gpuplane.objects import PRIORITY_CLASS_LABEL, QUEUE_NAME_LABEL, VOLCANO_GROUP_ANNOTATION

HOSTNAME_LABEL = "kubernetes.io/hostname"
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
JOB_NAME_LABELS = ("batch.kubernetes.io/job-name", "job-name")
_KEPT_WORKLOAD_LABELS = (QUEUE_NAME_LABEL, PRIORITY_CLASS_LABEL)
_REFERENCE_ANNOTATIONS = (QUEUE_NAME_LABEL, VOLCANO_GROUP_ANNOTATION, VOLCANO_QUEUE_ANNOTATION)


class Hasher:
    def __init__(self, salt: str) -> None:
        self.salt = salt.encode()
        self.names: dict[str, str] = {}

    def __call__(self, name: str) -> str:
        if not name:
            return name
        hashed = self.names.get(name)
        if hashed is None:
            digest = hashlib.sha256(self.salt + b"\0" + name.encode()).hexdigest()
            hashed = self.names[name] = "h" + digest[:12]
        return hashed


def anonymize(collected: Collected, salt: str, pool_labels: tuple[str, ...]) -> Collected:
    """A copy of `collected` with names hashed (see the module's docstring)."""
    h = Hasher(salt)
    out = Collected(absent=list(collected.absent))
    for kind, items in collected.objects.items():
        out.objects[kind] = [_object(copy.deepcopy(obj), h, pool_labels) for obj in items]
    return out


def _object(obj: Obj, h: Hasher, pool_labels: tuple[str, ...]) -> Obj:
    meta = obj.setdefault("metadata", {})
    for key in ("name", "namespace"):
        if meta.get(key):
            meta[key] = h(meta[key])
    if obj["kind"] == "Pod":
        _owners(meta, h)
    else:
        meta.pop("ownerReferences", None)
    kind, spec = obj["kind"], obj.get("spec") or {}
    if kind == "Node":
        labels = meta.get("labels") or {}
        for key in (HOSTNAME_LABEL, *pool_labels):
            if key in labels:
                labels[key] = h(labels[key])
    elif kind == "Pod":
        _workload_meta(meta, h)
        _pod_spec(spec, h)
    elif kind == "Job":
        _workload_meta(meta, h)
        template = spec.get("template") or {}
        _workload_meta(template.setdefault("metadata", {}), h)
        _pod_spec(template.get("spec") or {}, h)
    elif kind == "LocalQueue":
        _hash_keys(spec, ("clusterQueue",), h)
    elif kind == "ClusterQueue":
        _hash_keys(spec, ("cohort", "cohortName"), h)
        for group in spec.get("resourceGroups") or []:
            for flavor in group.get("flavors") or []:
                _hash_keys(flavor, ("name",), h)
        selector = (spec.get("namespaceSelector") or {}).get("matchLabels") or {}
        _hash_keys(selector, (NAMESPACE_NAME_LABEL,), h)
    elif kind == "Cohort":
        _hash_keys(spec, ("parent", "parentName"), h)
    elif kind == "PodGroup":
        _hash_keys(spec, ("queue", "priorityClassName"), h)
    return obj


def _owners(meta: dict[str, Any], h: Hasher) -> None:
    for owner in meta.get("ownerReferences") or []:
        _hash_keys(owner, ("name",), h)


def _workload_meta(meta: dict[str, Any], h: Hasher) -> None:
    labels = meta.get("labels") or {}
    kept = {k: h(v) for k, v in labels.items() if k in (*_KEPT_WORKLOAD_LABELS, *JOB_NAME_LABELS)}
    meta["labels"] = kept
    annotations = meta.get("annotations") or {}
    for key in _REFERENCE_ANNOTATIONS:
        if key in annotations:
            annotations[key] = h(annotations[key])


def _pod_spec(spec: dict[str, Any], h: Hasher) -> None:
    _hash_keys(spec, ("nodeName", "priorityClassName"), h)
    _hash_keys(spec.get("nodeSelector") or {}, (HOSTNAME_LABEL,), h)


def _hash_keys(mapping: dict[str, Any], keys: tuple[str, ...], h: Hasher) -> None:
    for key in keys:
        if isinstance(mapping.get(key), str):
            mapping[key] = h(mapping[key])
