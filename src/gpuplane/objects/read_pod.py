"""Reading a pod (kind: Pod, or a Job's spec.template) into a Pod."""

from __future__ import annotations

from gpuplane.errors import Location
from gpuplane.objects.pod import Pod
from gpuplane.objects.read_gpu import annotation_ask, is_gpu_resource, pod_gpu
from gpuplane.objects.read_resources import (
    CPU,
    MEMORY,
    effective,
    is_extended,
    is_native_scalar,
    read_amounts,
    read_container,
)
from gpuplane.objects.read_scheduling import read_node_affinity, read_tolerations
from gpuplane.objects.yamlio import Field, Warn
from gpuplane.quantity import mebibytes


def read_pod(root: Field, warn: Warn | None = None) -> Pod:
    """A v1 Pod manifest; metadata.name (or generateName) is required."""
    metadata = root["metadata"]
    name = metadata["name"].optional_string() or metadata["generateName"].optional_string()
    if not name:
        raise metadata["name"].error("required value", hint="give the pod a metadata.name")
    return pod_from_spec(
        metadata,
        root["spec"],
        name=name,
        namespace=metadata["namespace"].string() or "default",
        source=root.where,
        warn=warn,
    )


def pod_from_spec(
    metadata: Field,
    spec: Field,
    *,
    name: str,
    namespace: str,
    source: Location,
    owner: str | None = None,
    warn: Warn | None = None,
) -> Pod:
    """A pod from its metadata and spec fields (shared by Pods and pod templates)."""
    if not spec.present:
        raise spec.error("required value")
    containers = spec["containers"]
    demands = [read_container(item, init=False) for item in containers.each()]
    if not demands:
        raise containers.error("required value: a pod needs at least one container")
    demands += [read_container(item, init=True) for item in spec["initContainers"].each()]
    totals = effective(demands, overhead=read_amounts(spec["overhead"]))
    annotations = metadata["annotations"]
    gpu = pod_gpu(demands, annotation_ask(annotations))
    affinity = spec["affinity"]
    if warn is not None:
        for kind in ("podAffinity", "podAntiAffinity"):
            if affinity[kind].present:
                warn(affinity[kind].where, f"{kind} is not modelled by gpuplane; ignored")
    return Pod(
        name=name,
        namespace=namespace,
        cpu_milli=totals.get(CPU, 0),
        # The exact bytes decide fit (as kube-scheduler compares bytes); MiB, rounded up, is
        # the brain's unit for everything else (scores, quotas, reports).
        memory_mib=mebibytes(totals.get(MEMORY, 0)),
        memory_bytes=totals.get(MEMORY, 0),
        native={name: amount for name, amount in sorted(totals.items()) if is_native_scalar(name)},
        gpu=gpu,
        extended={
            resource: amount
            for resource, amount in sorted(totals.items())
            if is_extended(resource) and not is_gpu_resource(resource)
        },
        labels=metadata["labels"].string_map(),
        annotations=annotations.string_map(),
        node_selector=spec["nodeSelector"].string_map(),
        affinity=read_node_affinity(affinity),
        tolerations=read_tolerations(spec["tolerations"]),
        node_name=spec["nodeName"].optional_string() or None,
        priority_class_name=spec["priorityClassName"].optional_string() or None,
        priority=spec["priority"].optional_integer(),
        scheduler_name=spec["schedulerName"].optional_string() or "default-scheduler",
        owner=owner,
        source=source,
    )
