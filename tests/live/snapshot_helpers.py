"""A small cluster with history on the fake API server, for the snapshot and place tests.

The fake serves Jobs, ResourceQuotas and PriorityClasses as the built-in kinds they are
(validated against Kubernetes' schemas), Kueue's queues and flavors with Kueue's published
CRD schemas (tests/live/kueue_crds.py); WorkloadPriorityClass and Volcano's kinds, which have
no schema here, are registered without one.
Objects are put straight into the fake's store, with the times and status a real cluster
would have given them (a create through the API stamps now and drops status).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fakeapi import FakeApiServer, ResourceType
from fakeapi.resources import validate
from kueue_crds import register_kueue

Obj = dict[str, Any]
NOW = datetime(2025, 3, 4, 12, 0, tzinfo=UTC).timestamp()
H100 = {"nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3", "nvidia.com/gpu.memory": "81559"}
L4 = {"nvidia.com/gpu.product": "NVIDIA-L4", "nvidia.com/gpu.memory": "23034"}
KUEUE = "kueue.x-k8s.io"
_BUILTIN = (
    ("batch", "v1", "jobs", "Job", True),
    ("", "v1", "resourcequotas", "ResourceQuota", True),
    ("scheduling.k8s.io", "v1", "priorityclasses", "PriorityClass", False),
)
_KUEUE_WITH_SCHEMA = (
    (KUEUE, "v1beta1", "clusterqueues", "ClusterQueue", False),
    (KUEUE, "v1beta1", "localqueues", "LocalQueue", True),
    (KUEUE, "v1beta1", "resourceflavors", "ResourceFlavor", False),
)
_CRDS = (
    (KUEUE, "v1beta1", "workloadpriorityclasses", "WorkloadPriorityClass", False),
    ("scheduling.volcano.sh", "v1beta1", "queues", "Queue", False),
    ("scheduling.volcano.sh", "v1beta1", "podgroups", "PodGroup", True),
)
_PLURALS = {kind: (g, v, p) for g, v, p, kind, _ in (*_BUILTIN, *_KUEUE_WITH_SCHEMA, *_CRDS)} | {
    "Pod": ("", "v1", "pods"),
    "Node": ("", "v1", "nodes"),
    "Namespace": ("", "v1", "namespaces"),
}


def serve_snapshot_kinds(fake: FakeApiServer) -> None:
    for group, version, plural, kind, namespaced in _BUILTIN:
        fake.api.register(ResourceType(group, version, plural, kind, namespaced, builtin=True))
    register_kueue(fake, ("v1beta1",))
    for group, version, plural, kind, namespaced in _CRDS:
        fake.register_crd(group, version, plural, kind, namespaced=namespaced)


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def put(fake: FakeApiServer, obj: Obj, *, created: float | None = None, check: bool = True) -> Obj:
    """Store `obj` as the API server would hold it, created at `created` (default NOW - 1 h)."""
    group, version, plural = _PLURALS[obj["kind"]]
    resource = fake.api.kinds[(group, version, plural)]
    if check:
        validate(resource, obj)
    namespace = obj["metadata"].get("namespace")
    if resource.namespaced and ("/v1/namespaces", "", namespace) not in fake.store.objects:
        fake.store.create(
            fake.api.kinds[("", "v1", "namespaces")], None, namespace_object(namespace)
        )
    stored = fake.store.create(resource, namespace, obj)
    key = (resource.key, namespace if resource.namespaced else "", obj["metadata"]["name"])
    with fake.store.cond:
        fake.store.objects[key]["metadata"]["creationTimestamp"] = iso(
            NOW - 3600 if created is None else created
        )
    return stored


def namespace_object(name: str) -> Obj:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def node(name: str, labels: dict[str, str], gpus: int = 0, cpu: str = "64") -> Obj:
    amounts = {"cpu": cpu, "memory": "512Gi", "pods": "110"}
    if gpus:
        amounts["nvidia.com/gpu"] = str(gpus)
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, **labels}},
        "status": {"allocatable": amounts, "capacity": amounts},
    }


def container(gpus: int = 0, cpu: str = "2", memory: str = "8Gi") -> Obj:
    requests = {"cpu": cpu, "memory": memory}
    limits = {"nvidia.com/gpu": str(gpus)} if gpus else {}
    resources: Obj = {"requests": requests} | ({"limits": limits} if limits else {})
    return {"name": "main", "image": "registry.example/train:1", "resources": resources,
            "env": [{"name": "TOKEN", "value": "do-not-copy"}]}


def pod(
    name: str,
    namespace: str,
    *,
    gpus: int = 0,
    node_name: str | None = None,
    phase: str = "Pending",
    queue: str | None = None,
    job: str | None = None,
    owner_kind: str = "Job",
    started: float | None = None,
    finished: float | None = None,
) -> Obj:
    labels = {"app": name} | ({"kueue.x-k8s.io/queue-name": queue} if queue else {})
    meta: Obj = {"name": name, "namespace": namespace, "labels": labels}
    if job is not None:
        meta["ownerReferences"] = [
            {"apiVersion": "batch/v1" if owner_kind == "Job" else "apps/v1", "kind": owner_kind,
             "name": job, "uid": f"uid-{job}", "controller": True}
        ]
    status: Obj = {"phase": phase}
    if started is not None:
        status["startTime"] = iso(started)
    if finished is not None:
        status["containerStatuses"] = [
            {"name": "main", "ready": False, "restartCount": 0, "image": "i", "imageID": "",
             "state": {"terminated": {"exitCode": 0, "finishedAt": iso(finished)}}}
        ]
    spec: Obj = {"containers": [container(gpus)], "schedulerName": "gpuplane"}
    if node_name is not None:
        spec["nodeName"] = node_name
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec, "status": status}


def job(
    name: str,
    namespace: str,
    *,
    queue: str,
    gpus: int,
    pods: int = 1,
    suspend: bool = False,
    started: float | None = None,
    finished: float | None = None,
) -> Obj:
    template = {
        "metadata": {"labels": {"app": name}},
        "spec": {"containers": [container(gpus)], "restartPolicy": "Never"},
    }
    status: Obj = {}
    if started is not None:
        status["startTime"] = iso(started)
    if finished is not None:
        status["completionTime"] = iso(finished)
        status["conditions"] = [
            {"type": "Complete", "status": "True", "lastTransitionTime": iso(finished)}
        ]
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": namespace,
                     "labels": {"kueue.x-k8s.io/queue-name": queue}},
        "spec": {"parallelism": pods, "completions": pods, "suspend": suspend,
                 "template": template},
        "status": status,
    }


def kueue_objects() -> list[Obj]:
    api = f"{KUEUE}/v1beta1"
    quota = [{"name": "cpu", "nominalQuota": "1000"}, {"name": "memory", "nominalQuota": "4Ti"},
             {"name": "nvidia.com/gpu", "nominalQuota": "24"}]
    return [
        {"apiVersion": api, "kind": "ResourceFlavor", "metadata": {"name": "default-flavor"}},
        {"apiVersion": api, "kind": "ClusterQueue", "metadata": {"name": "research"},
         "spec": {"namespaceSelector": {}, "cohort": "all", "resourceGroups": [
             {"coveredResources": ["cpu", "memory", "nvidia.com/gpu"],
              "flavors": [{"name": "default-flavor", "resources": quota}]}]}},
        {"apiVersion": api, "kind": "LocalQueue",
         "metadata": {"name": "train", "namespace": "research"},
         "spec": {"clusterQueue": "research"}},
        {"apiVersion": api, "kind": "WorkloadPriorityClass", "metadata": {"name": "batch"},
         "value": 100},
        {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
         "metadata": {"name": "high"}, "value": 1000},
        {"apiVersion": "v1", "kind": "ResourceQuota",
         "metadata": {"name": "gpus", "namespace": "research"},
         "spec": {"hard": {"requests.nvidia.com/gpu": "40"}}},
    ]


def small_cluster(fake: FakeApiServer) -> None:
    """4 nodes in 3 pools; Kueue queues; 2 running Job pods, a running server, a suspended Job,
    a waiting pod, and 12 finished Jobs over the last day."""
    serve_snapshot_kinds(fake)
    put(fake, node("h100-a", {**H100, "karpenter.sh/nodepool": "train"}, gpus=8))
    put(fake, node("h100-b", {**H100, "karpenter.sh/nodepool": "train"}, gpus=8))
    put(fake, node("l4-a", {**L4, "node.kubernetes.io/instance-type": "g6.xlarge"}, gpus=1))
    put(fake, node("cpu-a", {}, cpu="32"))
    for obj in kueue_objects():
        put(fake, obj)
    put(fake, job("run", "research", queue="train", gpus=4, pods=2, started=NOW - 1800))
    for i, node_name in enumerate(("h100-a", "h100-b")):
        put(fake, pod(f"run-{i}", "research", gpus=4, node_name=node_name, phase="Running",
                      queue="train", job="run", started=NOW - 1800))
    put(fake, pod("web-1", "serving", gpus=1, node_name="l4-a", phase="Running",
                  job="web", owner_kind="ReplicaSet", started=NOW - 86400))
    put(fake, job("wait", "research", queue="train", gpus=8, pods=2, suspend=True))
    put(fake, pod("lone", "research", gpus=2, queue="train"))
    for i in range(12):
        start = NOW - 86400 + i * 7200
        put(fake, job(f"done-{i}", "research", queue="train", gpus=2 if i % 3 else 8,
                      started=start, finished=start + 3600 * (1 + i % 4)),
            created=start - 60)
