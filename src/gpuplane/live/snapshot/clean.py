"""API objects cut down to the manifests a scenario needs, and nothing that could be private.

Pods and Jobs keep what placement and admission read (resources, selectors, affinity,
tolerations, priority, the queue and group references); images, commands, environment,
volumes and every annotation but gpuplane's simulator hints and the queue references are
dropped. Nodes keep their labels, taints and capacity; the Kueue, Volcano and policy kinds
their spec. Status, managedFields, uids and versions never reach the files.
"""

from __future__ import annotations

from typing import Any

from gpuplane.live.reflector import Obj
from gpuplane.objects import (
    CHECKPOINT_INTERVAL_ANNOTATION,
    DURATION_ANNOTATION,
    QUEUE_NAME_LABEL,
    VOLCANO_GROUP_ANNOTATION,
)

#: The twin groups Node manifests into pools by this label (sim.twin.load).
POOL_LABEL = "gpuplane.io/pool"
VOLCANO_QUEUE_ANNOTATION = "scheduling.volcano.sh/queue-name"
KEPT_ANNOTATIONS = (
    DURATION_ANNOTATION,
    CHECKPOINT_INTERVAL_ANNOTATION,
    QUEUE_NAME_LABEL,
    VOLCANO_GROUP_ANNOTATION,
    VOLCANO_QUEUE_ANNOTATION,
)
_POD_SPEC_FIELDS = (
    "nodeSelector",
    "tolerations",
    "priority",
    "priorityClassName",
    "schedulerName",
    "overhead",
)
_CONTAINER_LISTS = ("initContainers", "containers")


def meta(obj: Obj, *, labels: bool = True, annotations: bool = False) -> dict[str, Any]:
    """metadata with only name, namespace, labels and (filtered) annotations."""
    source = obj.get("metadata") or {}
    out: dict[str, Any] = {"name": source.get("name", "")}
    if source.get("namespace"):
        out["namespace"] = source["namespace"]
    if labels and source.get("labels"):
        out["labels"] = dict(source["labels"])
    kept = {k: v for k, v in (source.get("annotations") or {}).items() if k in KEPT_ANNOTATIONS}
    if annotations and kept:
        out["annotations"] = kept
    return out


def pod_spec(spec: dict[str, Any], node_name: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in _CONTAINER_LISTS:
        containers = spec.get(key)
        if containers:
            out[key] = [
                {"name": c.get("name", f"c{i}"), "resources": c.get("resources") or {}}
                for i, c in enumerate(containers)
            ]
    out.setdefault("containers", [{"name": "main", "resources": {}}])
    for key in _POD_SPEC_FIELDS:
        if spec.get(key) not in (None, {}, []):
            out[key] = spec[key]
    node_affinity = (spec.get("affinity") or {}).get("nodeAffinity")
    if node_affinity:
        out["affinity"] = {"nodeAffinity": node_affinity}
    if node_name:
        out["nodeName"] = node_name
    return out


def clean_pod(obj: Obj, node_name: str | None) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta(obj, annotations=True),
        "spec": pod_spec(obj.get("spec") or {}, node_name),
    }


def clean_job(obj: Obj) -> Obj:
    spec = obj.get("spec") or {}
    template = spec.get("template") or {}
    out_spec: dict[str, Any] = {
        key: spec[key]
        for key in ("parallelism", "completions", "completionMode")
        if spec.get(key) is not None
    }
    out_spec["template"] = {
        "metadata": meta(template, annotations=True),
        "spec": pod_spec(template.get("spec") or {}, None),
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": meta(obj, annotations=True),
        "spec": out_spec,
    }


def clean_node(obj: Obj, pool: str) -> Obj:
    source_meta = obj.get("metadata") or {}
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    out_spec = {k: spec[k] for k in ("taints", "unschedulable") if spec.get(k)}
    node: Obj = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": source_meta.get("name", ""),
            "labels": {**(source_meta.get("labels") or {}), POOL_LABEL: pool},
        },
        "status": {k: status[k] for k in ("capacity", "allocatable") if status.get(k)},
    }
    if out_spec:
        node["spec"] = out_spec
    return node


def clean_object(obj: Obj) -> Obj:
    """A queue or policy object: apiVersion, kind, trimmed metadata, and all but its status."""
    out: Obj = {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "metadata": meta(obj)}
    for key, value in obj.items():
        if key not in ("apiVersion", "kind", "metadata", "status"):
            out[key] = value
    return out
