"""Reading Kubernetes manifests into typed objects, all or nothing.

Every document of every file is read before anything is returned; the first bad one raises its
InputError, so a caller never applies half a set of manifests. Objects gpuplane does not model
(Deployments, Services, other ConfigMaps, a kind of the same name from another API group such as
KAI's Queue, ...) are skipped with a warning; a kind gpuplane reads, in a version of its group
that gpuplane does not read, is an error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gpuplane.errors import Location, ManifestError
from gpuplane.objects.job import Job
from gpuplane.objects.node import Node
from gpuplane.objects.pod import Pod
from gpuplane.objects.policy import PriorityClass, ResourceQuota
from gpuplane.objects.queues import (
    ClusterQueue,
    Cohort,
    LocalQueue,
    PodGroup,
    ResourceFlavor,
    VolcanoQueue,
    VolcanoSchedulerConfig,
    WorkloadPriorityClass,
)
from gpuplane.objects.read_configmap import (
    is_device_plugin_configmap,
    read_device_plugin_configmap,
)
from gpuplane.objects.read_hints import job_with_hints, pod_with_hints
from gpuplane.objects.read_job import read_job
from gpuplane.objects.read_kueue import (
    read_cluster_queue,
    read_cohort,
    read_local_queue,
    read_resource_flavor,
    read_workload_priority_class,
)
from gpuplane.objects.read_node import read_node
from gpuplane.objects.read_pod import read_pod
from gpuplane.objects.read_policy import read_priority_class, read_resource_quota
from gpuplane.objects.read_volcano import (
    is_volcano_scheduler_configmap,
    read_pod_group,
    read_volcano_queue,
    read_volcano_scheduler_config,
)
from gpuplane.objects.yaml_load import Progress, load_paths, load_text
from gpuplane.objects.yamlio import Document, Field, Warn, from_api
from gpuplane.sharing import DevicePluginConfigMap

#: The apiVersion each kind is read from.
API_VERSIONS = {
    "Pod": "v1",
    "Node": "v1",
    "ConfigMap": "v1",
    "ResourceQuota": "v1",
    "Job": "batch/v1",
    "PriorityClass": "scheduling.k8s.io/v1",
    "ClusterQueue": "kueue.x-k8s.io/v1beta1",
    "LocalQueue": "kueue.x-k8s.io/v1beta1",
    "ResourceFlavor": "kueue.x-k8s.io/v1beta1",
    "WorkloadPriorityClass": "kueue.x-k8s.io/v1beta1",
    "Cohort": "kueue.x-k8s.io/v1alpha1",
    "Queue": "scheduling.volcano.sh/v1beta1",
    "PodGroup": "scheduling.volcano.sh/v1beta1",
}
#: Other apiVersions a kind is also read from: Kueue moved Cohort to v1beta1 in 0.11, and
#: serves every kind from v1beta2 since 0.15 (the fields that moved are mapped by read_kueue).
ALSO_READ_FROM = {
    "ClusterQueue": ("kueue.x-k8s.io/v1beta2",),
    "LocalQueue": ("kueue.x-k8s.io/v1beta2",),
    "ResourceFlavor": ("kueue.x-k8s.io/v1beta2",),
    "WorkloadPriorityClass": ("kueue.x-k8s.io/v1beta2",),
    "Cohort": ("kueue.x-k8s.io/v1beta1", "kueue.x-k8s.io/v1beta2"),
}
#: Pod phases after which a pod holds nothing on its node.
TERMINAL_PHASES = ("Succeeded", "Failed")
_CLUSTER_SCOPED = (
    "Node",
    "PriorityClass",
    "ClusterQueue",
    "ResourceFlavor",
    "WorkloadPriorityClass",
    "Cohort",
    "Queue",
)


@dataclass
class Manifests:
    """The objects read from a set of manifests, by kind, in file order; and what was skipped."""

    pods: list[Pod] = field(default_factory=list)
    jobs: list[Job] = field(default_factory=list)
    nodes: list[Node] = field(default_factory=list)
    priority_classes: list[PriorityClass] = field(default_factory=list)
    resource_quotas: list[ResourceQuota] = field(default_factory=list)
    device_plugin_configs: list[DevicePluginConfigMap] = field(default_factory=list)
    cluster_queues: list[ClusterQueue] = field(default_factory=list)
    local_queues: list[LocalQueue] = field(default_factory=list)
    resource_flavors: list[ResourceFlavor] = field(default_factory=list)
    workload_priority_classes: list[WorkloadPriorityClass] = field(default_factory=list)
    cohorts: list[Cohort] = field(default_factory=list)
    volcano_queues: list[VolcanoQueue] = field(default_factory=list)
    pod_groups: list[PodGroup] = field(default_factory=list)
    #: Volcano's scheduler configuration (the ConfigMap with `volcano-scheduler.conf`).
    volcano_scheduler: list[VolcanoSchedulerConfig] = field(default_factory=list)
    #: Pods and Jobs together in file order, the order a user submits them in.
    workloads: list[Pod | Job] = field(default_factory=list)
    #: "file:line: message" for each object skipped or field ignored.
    warnings: list[str] = field(default_factory=list)
    #: How many objects of each kind were read (skipped ones are not counted here).
    kinds: dict[str, int] = field(default_factory=dict)
    #: Each object skipped, with why.
    skipped: list[Skipped] = field(default_factory=list)


@dataclass(frozen=True)
class Skipped:
    """An object left out of what was read: its kind, where it is, and why (a few words)."""

    kind: str
    where: str
    why: str


def read_manifests(
    paths: Sequence[str | Path], *, recursive: bool = True, progress: Progress | None = None
) -> Manifests:
    """Read files and directories (*.yaml and *.yml, recursively by default) of manifests.

    `progress` is told the bytes parsed as they are (for a progress bar on large input).
    """
    return _read(load_paths(paths, recursive=recursive, progress=progress))


def read_text(text: str, file: str = "<string>") -> Manifests:
    """Read manifests from a string, named `file` in errors and warnings."""
    return _read(load_text(text, file))


def read_api_objects(objects: Iterable[Mapping[str, Any]]) -> Manifests:
    """Read objects as an API server returns them (decoded JSON), all or nothing.

    The same readers and rules as for files; an error is placed at `Kind namespace/name` and
    the field path, since API objects have no file lines.
    """
    reading = _Reading()
    for obj in objects:
        metadata = obj.get("metadata")
        if not isinstance(metadata, Mapping):
            metadata = {}  # the reader below says what is wrong with it, at its place
        name = "/".join(str(p) for p in (metadata.get("namespace"), metadata.get("name")) if p)
        root = Field(from_api(obj), Location(f"{obj.get('kind', 'object')} {name}".strip()))
        _read_object(root, reading)
    return reading.out


class _Reading:
    """One read: the result so far and where each object was first defined."""

    def __init__(self) -> None:
        self.out = Manifests()
        self.seen: dict[tuple[str, str], Location] = {}

    def warn(self, where: Location, message: str) -> None:
        self.out.warnings.append(f"{_place(where)}: {message}")

    def skip(self, root: Field, kind: str, why: str, message: str) -> None:
        """Leave an object out, saying so: `why` for the summary, `message` as its warning."""
        self.out.skipped.append(Skipped(kind, _place(root.where), why))
        self.warn(root.where, message)

    def once(self, kind: str, root: Field) -> None:
        """Refuse a second object of the same kind and name, as the API server would."""
        metadata = root["metadata"]
        name = metadata["name"].string()
        if kind not in _CLUSTER_SCOPED:
            name = f"{metadata['namespace'].string() or 'default'}/{name}"
        first = self.seen.setdefault((kind, name), root.where)
        if first is not root.where:
            raise ManifestError(
                f"{kind} {name} is defined twice (first at {first.file}:{first.line})",
                where=root.where,
                hint="give each object its own name, or remove one of them",
            )


def _place(where: Location) -> str:
    place = where.file or "<string>"
    return place if where.line is None else f"{place}:{where.line}"


def _read(documents: Sequence[Document]) -> Manifests:
    reading = _Reading()
    for document in documents:
        _read_object(document.root(), reading)
    return reading.out


def _read_object(root: Field, reading: _Reading) -> None:
    api, kind = root["apiVersion"].value, root["kind"].value
    if not isinstance(kind, str) or not kind or not isinstance(api, str) or not api:
        why, message = "no apiVersion and kind", "not a Kubernetes object"
        reading.skip(root, "?", why, f"{why}, so {message}; skipped")
        return
    if kind == "List":
        for item in root["items"].each():
            _read_object(item, reading)
        return
    expected = API_VERSIONS.get(kind)
    accepted = (expected, *ALSO_READ_FROM.get(kind, ())) if expected is not None else ()
    # A kind is named by its API group too: another group's Queue is another object.
    if _group(api) not in {_group(version) for version in accepted}:
        message = f"{kind} ({api}) is not read by gpuplane; skipped"
        reading.skip(root, kind, "not read by gpuplane", message)
        return
    if api not in accepted:
        raise root["apiVersion"].error(
            f"gpuplane reads {kind} from apiVersion {' or '.join(accepted)}, got {api!r}"
        )
    if kind == "ConfigMap" and is_volcano_scheduler_configmap(root):
        reading.once(kind, root)
        reading.out.volcano_scheduler.append(read_volcano_scheduler_config(root, reading.warn))
        _count(reading.out, kind)
        return
    if kind == "ConfigMap" and not is_device_plugin_configmap(root):
        name = root["metadata"]["name"].string()
        message = f"ConfigMap {name} is not a device plugin config; skipped"
        reading.skip(root, kind, "not a device plugin config", message)
        return
    phase = root["status"]["phase"].value if kind == "Pod" else None
    if phase in TERMINAL_PHASES:
        # `kubectl get pods -o yaml` lists finished pods too; they hold no resources.
        name = root["metadata"]["name"].string()
        message = f"Pod {name} is {phase}: a finished pod holds no resources; skipped"
        reading.skip(root, kind, str(phase), message)
        return
    reading.once(kind, root)
    _READERS[kind](root, reading.warn, reading.out)
    _count(reading.out, kind)


def _count(out: Manifests, kind: str) -> None:
    out.kinds[kind] = out.kinds.get(kind, 0) + 1


Reader = Callable[[Field, Warn, "Manifests"], None]


def _group(api_version: str) -> str:
    """The API group of an apiVersion ("" for the core group's "v1")."""
    return api_version.rpartition("/")[0]


def _pod(root: Field, warn: Warn, out: Manifests) -> None:
    pod = pod_with_hints(read_pod(root, warn), root)
    out.pods.append(pod)
    out.workloads.append(pod)


def _job(root: Field, warn: Warn, out: Manifests) -> None:
    job = job_with_hints(read_job(root, warn), root)
    out.jobs.append(job)
    out.workloads.append(job)


def _configmap(root: Field, warn: Warn, out: Manifests) -> None:
    out.device_plugin_configs.append(read_device_plugin_configmap(root, warn))


def _into(attribute: str, read: Callable[[Field, Warn], object]) -> Reader:
    """A reader that appends what `read` makes to the Manifests list named `attribute`."""

    def add(root: Field, warn: Warn, out: Manifests) -> None:
        getattr(out, attribute).append(read(root, warn))

    return add


#: Kind -> how it is read into Manifests. Most kinds just append to their own list.
_READERS: dict[str, Reader] = {
    "Pod": _pod,
    "Job": _job,
    "ConfigMap": _configmap,
    "Node": _into("nodes", read_node),
    "PriorityClass": _into("priority_classes", read_priority_class),
    "ResourceQuota": _into("resource_quotas", read_resource_quota),
    "ClusterQueue": _into("cluster_queues", read_cluster_queue),
    "LocalQueue": _into("local_queues", read_local_queue),
    "ResourceFlavor": _into("resource_flavors", read_resource_flavor),
    "WorkloadPriorityClass": _into("workload_priority_classes", read_workload_priority_class),
    "Cohort": _into("cohorts", read_cohort),
    "Queue": _into("volcano_queues", read_volcano_queue),
    "PodGroup": _into("pod_groups", read_pod_group),
}
