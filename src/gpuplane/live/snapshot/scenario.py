"""A snapshot as a `gpuplane simulate` scenario: the scenario file and three manifest files.

    <name>.yaml            the scenario: the cluster, the queues, the workload model, a horizon
    <name>.nodes.yaml      Node manifests, each labelled gpuplane.io/pool with its node pool
    <name>.queues.yaml     Kueue or Volcano queues, PriorityClasses, ResourceQuotas
    <name>.workloads.yaml  what runs now (Pods pinned to their node by spec.nodeName) and what
                           waits (Jobs, Pods, PodGroups), all arriving at time 0

Node pools are the values of a label (default karpenter.sh/nodepool), else the instance type,
else the GPU product, else `cpu`. Work that names no queue the snapshot knows (system pods,
Deployments, work outside Kueue) goes to the queue `gpuplane-unmanaged`, whose quota never
binds, so it holds its capacity in the twin as it does on the cluster. A running pod runs on
for its own gpuplane.io/duration, else its team's median duration from history, less what it
has run already (at least a tenth of that); a pod that no Job owns and that has no such
duration (a server) runs to the horizon. A waiting workload runs for its team's median (the
cluster's median where its team has no history). When a cluster holds both Kueue and Volcano
queues, the Kueue ones set up admission, as in the twin one system does.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gpuplane.errors import InputError, Location
from gpuplane.live.reflector import Obj
from gpuplane.live.snapshot.anonymize import anonymize
from gpuplane.live.snapshot.clean import (
    VOLCANO_QUEUE_ANNOTATION,
    clean_job,
    clean_node,
    clean_object,
    clean_pod,
)
from gpuplane.live.snapshot.collect import Collected
from gpuplane.live.snapshot.history import fit
from gpuplane.live.snapshot.unmanaged import UNMANAGED, unmanaged_queues
from gpuplane.live.snapshot.workloads import classify, key_of, owner_job, timestamp
from gpuplane.objects import (
    DURATION_ANNOTATION,
    QUEUE_NAME_LABEL,
    VOLCANO_GROUP_ANNOTATION,
    read_duration,
)
from gpuplane.objects.yamlio import Field as YamlField

HOUR = 3600.0
DEFAULT_POOL_LABEL = "karpenter.sh/nodepool"
INSTANCE_TYPE_LABEL = "node.kubernetes.io/instance-type"
GPU_PRODUCT_LABEL = "nvidia.com/gpu.product"
KUEUE_KINDS = ("ResourceFlavor", "WorkloadPriorityClass", "Cohort", "ClusterQueue", "LocalQueue")
#: A running pod runs on for at least this share of its expected duration.
MIN_REMAINING = 0.1


@dataclass(frozen=True)
class SnapshotOptions:
    pool_label: str = DEFAULT_POOL_LABEL
    horizon: float = 24 * HOUR
    anonymize: bool = False
    salt: str = ""
    cluster_name: str = "cluster"


@dataclass
class Snapshot:
    scenario: dict[str, Any]
    nodes: list[Obj]
    queues: list[Obj]
    workloads: list[Obj]
    counts: dict[str, int] = field(default_factory=dict)


def pool_of(labels: dict[str, str], pool_label: str) -> str:
    for key in (pool_label, INSTANCE_TYPE_LABEL, GPU_PRODUCT_LABEL):
        if labels.get(key):
            return labels[key]
    return "cpu"


def build(collected: Collected, now: float, options: SnapshotOptions) -> Snapshot:
    """The scenario of `collected`, read at `now` (seconds since the epoch)."""
    if options.anonymize:
        collected = anonymize(collected, options.salt, (options.pool_label,))
    nodes = sorted(
        (clean_node(n, pool_of((n.get("metadata") or {}).get("labels") or {}, options.pool_label))
         for n in collected.of("Node")),
        key=lambda n: str(n["metadata"]["name"]),
    )
    kueue = bool(collected.of("ClusterQueue"))
    volcano = bool(collected.of("Queue")) and not kueue
    local = {key_of(q) for q in collected.of("LocalQueue")}
    volcano_names = {key_of(q)[1] for q in collected.of("Queue")}

    def resolve(namespace: str, queue: str | None) -> str:
        known = (namespace, queue) in local if kueue else volcano and queue in volcano_names
        return queue if known and queue else UNMANAGED

    work = classify(collected, resolve)
    model = fit(work.samples, now, options.horizon)
    every = [s.duration for s in work.samples]
    overall = float(statistics.median(every)) if every else None
    groups = {key_of(g): g for g in collected.of("PodGroup")}

    def queue_of(obj: Obj, namespace: str) -> str:
        meta = obj.get("metadata") or {}
        labels, notes = meta.get("labels") or {}, meta.get("annotations") or {}
        named = labels.get(QUEUE_NAME_LABEL) or notes.get(QUEUE_NAME_LABEL)
        group = groups.get((namespace, notes.get(VOLCANO_GROUP_ANNOTATION, "")))
        if volcano:
            named = named or notes.get(VOLCANO_QUEUE_ANNOTATION)
            if group is not None:
                named = named or (group.get("spec") or {}).get("queue")
        return resolve(namespace, named)

    def median(namespace: str, queue: str) -> float | None:
        return model.medians.get((namespace, queue), overall)

    workloads: list[Obj] = []
    used: Counter[str] = Counter()
    for pod in work.running:
        ns = key_of(pod)[0]
        out = clean_pod(pod, (pod.get("spec") or {}).get("nodeName"))
        queue = _set_queue(out, queue_of(pod, ns))
        out["metadata"].get("annotations", {}).pop(VOLCANO_GROUP_ANNOTATION, None)
        total = _hint(out)
        if total is None and owner_job(pod) is not None:
            total = median(ns, queue)
        elif total is None and not (pod.get("metadata") or {}).get("ownerReferences"):
            total = model.medians.get((ns, queue))  # a bare pod: batch only if its team is
        if total is not None:
            started = timestamp((pod.get("status") or {}).get("startTime")) or now
            _set_duration(out, max(total - (now - started), total * MIN_REMAINING))
        workloads.append(out)
        used[ns] += 1
    emitted_groups: dict[tuple[str, str], Obj] = {}
    for job in work.pending_jobs:
        ns = key_of(job)[0]
        out = clean_job(job)
        queue = _set_queue(out, queue_of(job, ns))
        _default_duration(out, median(ns, queue))
        workloads.append(out)
        used[ns] += 1
    for pod in work.pending_pods:
        ns = key_of(pod)[0]
        out = clean_pod(pod, None)
        queue = _set_queue(out, queue_of(pod, ns))
        annotations = out["metadata"].get("annotations", {})
        group_key = (ns, annotations.get(VOLCANO_GROUP_ANNOTATION, ""))
        if group_key in groups:
            group = clean_object(groups[group_key])
            group.setdefault("spec", {})["queue"] = queue
            emitted_groups.setdefault(group_key, group)
        else:
            annotations.pop(VOLCANO_GROUP_ANNOTATION, None)
        _default_duration(out, median(ns, queue))
        workloads.append(out)
        used[ns] += 1
    workloads = list(emitted_groups.values()) + workloads

    queues = _queue_objects(collected, kueue, volcano)
    unmanaged_ns = _unmanaged_namespaces(workloads) | {
        s.namespace for s in work.samples if s.queue == UNMANAGED
    }
    if unmanaged_ns:
        queues += unmanaged_queues(sorted(unmanaged_ns), workloads, volcano)
    counts = {
        "nodes": len(nodes),
        "pools": len({n["metadata"]["labels"]["gpuplane.io/pool"] for n in nodes}),
        "running": len(work.running),
        "pendingJobs": len(work.pending_jobs),
        "pendingPods": len(work.pending_pods),
        "finished": len(work.samples),
        "finishedSkipped": work.skipped,
    }
    if not workloads and not model.arrivals:
        raise InputError(
            "nothing runs, waits or has finished on this cluster: there is no workload to simulate",
            hint="take the snapshot once the cluster runs work (finished Jobs feed the model)",
        )
    scenario = _scenario(options, counts, model.kinds, model.arrivals, bool(workloads))
    return Snapshot(scenario, nodes, queues, workloads, counts)


def _set_queue(obj: Obj, queue: str) -> str:
    obj["metadata"].setdefault("labels", {})[QUEUE_NAME_LABEL] = queue
    obj["metadata"].get("annotations", {}).pop(QUEUE_NAME_LABEL, None)
    return queue


def _hint(obj: Obj) -> float | None:
    """The object's own gpuplane.io/duration, if it has a readable one."""
    value = obj["metadata"].get("annotations", {}).get(DURATION_ANNOTATION)
    if value is None:
        return None
    try:
        return read_duration(YamlField(value, Location()))
    except InputError:
        return None


def _set_duration(obj: Obj, seconds: float) -> None:
    annotations = obj["metadata"].setdefault("annotations", {})
    annotations[DURATION_ANNOTATION] = f"{max(1, round(seconds))}s"


def _default_duration(obj: Obj, seconds: float | None) -> None:
    if seconds is None or _hint(obj) is not None:
        return
    if obj["kind"] == "Job":
        template = obj["spec"]["template"]["metadata"]
        if DURATION_ANNOTATION in template.get("annotations", {}):
            return
    _set_duration(obj, seconds)


def _unmanaged_namespaces(workloads: list[Obj]) -> set[str]:
    return {
        str(w["metadata"].get("namespace") or "default")
        for w in workloads
        if w["kind"] != "PodGroup" and w["metadata"]["labels"].get(QUEUE_NAME_LABEL) == UNMANAGED
    }


def _queue_objects(collected: Collected, kueue: bool, volcano: bool) -> list[Obj]:
    kinds: tuple[str, ...] = KUEUE_KINDS if kueue else ("Queue",) if volcano else ()
    out = [clean_object(o) for kind in kinds for o in collected.of(kind)]
    out += [clean_object(o) for o in collected.of("PriorityClass")]
    out += [clean_object(o) for o in collected.of("ResourceQuota")]
    return out


def _scenario(
    options: SnapshotOptions,
    counts: dict[str, int],
    kinds: dict[str, Any],
    arrivals: list[dict[str, Any]],
    has_manifests: bool,
) -> dict[str, Any]:
    description = (
        f"Snapshot of {options.cluster_name}: {counts['nodes']} nodes in {counts['pools']} "
        f"pools, {counts['running']} pods running, {counts['pendingJobs']} Jobs and "
        f"{counts['pendingPods']} pods waiting; the arrivals are fitted from "
        f"{counts['finished']} finished workloads."
    )
    workload: dict[str, Any] = {}
    if kinds:
        workload["kinds"] = kinds
    if arrivals:
        workload["arrivals"] = arrivals
    return {
        "name": "snapshot",
        "description": description,
        "seed": 0,
        "horizon": f"{round(options.horizon)}s",
        "cluster": {"name": options.cluster_name, "nodes": "NODES"},
        "queues": ["QUEUES"],
        "workload": workload | ({"manifests": ["WORKLOADS"]} if has_manifests else {}),
    }


def write(snapshot: Snapshot, path: Path) -> list[Path]:
    """Write the scenario to `path` and its manifests beside it; returns the files written."""
    import yaml

    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    stem = path.name.removesuffix(".yaml").removesuffix(".yml")
    files = {
        "NODES": (path.with_name(f"{stem}.nodes.yaml"), snapshot.nodes),
        "QUEUES": (path.with_name(f"{stem}.queues.yaml"), snapshot.queues),
        "WORKLOADS": (path.with_name(f"{stem}.workloads.yaml"), snapshot.workloads),
    }
    scenario = snapshot.scenario
    scenario["cluster"]["nodes"] = files["NODES"][0].name
    scenario["queues"] = [files["QUEUES"][0].name]
    if "manifests" in scenario["workload"]:
        scenario["workload"]["manifests"] = [files["WORKLOADS"][0].name]
    path.parent.mkdir(parents=True, exist_ok=True)
    written = [path]
    for target, docs in files.values():
        with target.open("w") as stream:
            yaml.dump_all(docs, stream, Dumper=dumper, sort_keys=False)
        written.append(target)
    with path.open("w") as stream:
        stream.write("# gpuplane snapshot: run it with `gpuplane simulate " + path.name + "`\n")
        yaml.dump(scenario, stream, Dumper=dumper, sort_keys=False)
    return written
