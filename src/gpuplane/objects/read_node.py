"""Reading a v1 Node: allocatable resources (rounded down), GPU labels, sharing, taints.

The GPU sharing mode comes from the labels GFD and the device plugin wrote (see
`gpuplane.sharing.read_labels`). Under sharing, allocatable nvidia.com/gpu is not the number
of GPUs: it is GPUs x replicas under time-slicing and MPS, and MIG devices under MIG single;
`gpu_count` is made the physical count again, and `gpu_memory_mib` the whole GPU's memory
(under MIG single GFD's nvidia.com/gpu.memory is a MIG device's).
"""

from __future__ import annotations

from gpuplane.catalog import find
from gpuplane.catalog.labels import MEMORY as GPU_MEMORY_LABEL
from gpuplane.catalog.labels import PRODUCT as GPU_PRODUCT_LABEL
from gpuplane.catalog.resources import GPU
from gpuplane.limits import MAX_GPUS_PER_NODE
from gpuplane.objects.node import Node
from gpuplane.objects.read_resources import CPU, MEMORY, is_extended, is_native_scalar
from gpuplane.objects.read_scheduling import read_taints
from gpuplane.objects.yamlio import Field, Warn
from gpuplane.quantity import mebibytes, millicores, to_bytes, whole
from gpuplane.sharing import (
    EXCLUSIVE_NODE,
    MigStrategy,
    SharingKind,
    physical_gpu_count,
    product_model,
    renamed_resource,
    sharing_from_labels,
)

_DEFAULT_PODS = 110


def read_node(root: Field, warn: Warn | None = None) -> Node:
    """A v1 Node manifest; status.allocatable is read, or status.capacity when it is absent."""
    metadata, spec, status = root["metadata"], root["spec"], root["status"]
    name = metadata["name"].required_string()
    resources = status["allocatable"] if status["allocatable"].present else status["capacity"]
    if not resources.present and warn is not None:
        warn(
            root.where,
            f"node {name} has no status.allocatable or status.capacity; it offers nothing",
        )
    cpu = memory = gpus = 0
    memory_bytes: int | None = None
    pods = _DEFAULT_PODS
    extended: dict[str, int] = {}
    native: dict[str, int] = {}
    # Capacities round down so that the brain never believes a node holds more than it does.
    for resource, value in resources.items():
        if resource == CPU:
            cpu = millicores(value.value, value.where, round_up=False)
        elif resource == MEMORY:
            # MiB rounded down for the brain; the exact bytes decide fit (see Pod.memory_bytes).
            memory = mebibytes(value.value, value.where, round_up=False)
            memory_bytes = to_bytes(value.value, value.where)
        elif resource == "pods":
            pods = whole(value.value, value.where, resource="pods")
        elif resource == GPU:
            gpus = whole(value.value, value.where, resource=GPU)
        elif is_extended(resource):
            extended[resource] = whole(value.value, value.where, resource=resource)
        elif is_native_scalar(resource):
            native[resource] = to_bytes(value.value, value.where)
        else:
            to_bytes(value.value, value.where)
    labels_field = metadata["labels"]
    labels = labels_field.string_map()
    product = labels.get(GPU_PRODUCT_LABEL) or None
    model = find(product_model(product)) if product else None
    gpu_memory = _gpu_memory(labels_field[GPU_MEMORY_LABEL])
    lines = {key: line for key in labels if (line := labels_field[key].where.line) is not None}
    advertised = {GPU: gpus, **extended}
    place = labels_field.where
    renamed = renamed_resource(advertised)
    gpu_count = physical_gpu_count(
        labels, advertised, place, model, lines=lines, renamed_to=renamed
    )
    if gpu_count > MAX_GPUS_PER_NODE:
        # Checked before the sharing is read: it and the cluster build work GPU by GPU.
        at = resources[GPU] if resources[GPU].present else labels_field
        raise at.error(f"{gpu_count:,} GPUs on one node; at most {MAX_GPUS_PER_NODE} are read")
    sharing = (
        sharing_from_labels(labels, gpu_count, place, model, lines=lines, renamed_to=renamed)
        or EXCLUSIVE_NODE
    )
    if sharing.mig_strategy is MigStrategy.SINGLE and SharingKind.MIG in sharing.kinds(gpu_count):
        gpu_memory = model.memory_mib if model else 0  # the label holds a MIG device's
    return Node(
        name=name,
        cpu_milli=cpu,
        memory_mib=memory,
        pods=pods,
        gpu_count=gpu_count,
        gpu_model=model.product if model else product,
        gpu_memory_mib=gpu_memory,
        extended=dict(sorted(extended.items())),
        memory_bytes=memory_bytes,
        native=dict(sorted(native.items())),
        labels=labels,
        taints=read_taints(spec["taints"]),
        unschedulable=spec["unschedulable"].boolean(False),
        sharing=sharing,
        source=root.where,
    )



def _gpu_memory(label: Field) -> int:
    text = label.string().strip()
    if not text:
        return 0
    if not text.isdigit():
        raise label.error(
            f"must be the GPU memory in MiB as digits, got {text!r}",
            hint='GPU Feature Discovery writes e.g. nvidia.com/gpu.memory: "81920"',
        )
    return int(text)
