"""The arrays of a fresh ClusterState, built in one pass over nodes grouped by shape.

Everything per-node that costs Python work (the GPU model, the devices the sharing mode
advertises, MIG layouts, which extended resources are device-backed and their counts) depends
only on a node's shape: GPU model, count and memory, and sharing mode. It is worked out once
per shape and broadcast to the shape's nodes with numpy indexing, so that a cluster of many
identical nodes costs about one array operation per field, not one Python loop per node.
Per-node mutable parts (MIG layout dicts, device lists and indexes) are still one object per
node: the state replaces or changes them node by node.
"""

from __future__ import annotations

import gc
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from gpuplane.catalog import GpuModel, find
from gpuplane.cluster.binding import MigLayout
from gpuplane.objects.node import Node
from gpuplane.sharing import (
    Device,
    MigStrategy,
    NodeSharing,
    SharingKind,
    initial_layout,
    node_devices,
)

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Shape:
    """What every node of one shape shares, worked out once."""

    model: GpuModel | None
    layouts: dict[int, MigLayout]
    devices: list[Device]
    index: dict[str, Device]
    fractional: BoolArray  # per GPU index
    split: IntArray  # per GPU index: split devices of a fractional GPU (0 for others)
    backed: frozenset[str]  # device-backed resources (dynamic MIG's possible profiles too)
    dynamic: frozenset[str]  # resources dynamic MIG may create later
    totals: dict[str, int]  # per device-backed resource: devices on healthy GPUs
    free: dict[str, int]  # per device-backed resource: of those, available at the start


@dataclass
class Built:
    """The arrays and per-node objects of a state with nothing bound."""

    cpu_alloc: IntArray
    mem_alloc: IntArray
    pods_alloc: IntArray
    mem_alloc_bytes: IntArray
    gpu_count: IntArray
    gpu_present: BoolArray
    gpu_mem_total: IntArray
    gpu_fractional: BoolArray
    gpu_split: IntArray
    models: tuple[GpuModel | None, ...]
    mig_layouts: list[dict[int, MigLayout]]
    devices: list[list[Device]]
    device_index: list[dict[str, Device]]
    device_users: list[dict[str, str]]
    device_backed: list[frozenset[str]]
    ext_names: tuple[str, ...]
    ext_alloc: IntArray
    ext_free: IntArray
    gpu_free_node: IntArray
    gpu_idle_count: IntArray


def build(nodes: Sequence[Node]) -> Built:
    """The state's arrays for `nodes`, identical to setting each node up on its own."""
    # The build allocates a few containers per node and frees none of them: the cyclic
    # collector, triggered by allocation counts, would rescan the growing heap again and
    # again (more than half the build time at 100,000 nodes) to find nothing.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _build(nodes)
    finally:
        if enabled:
            gc.enable()


def _build(nodes: Sequence[Node]) -> Built:
    n = len(nodes)
    ints = np.array(
        [(x.cpu_milli, x.memory_mib, x.pods, x.memory_allocatable_bytes, x.gpu_count,
          x.gpu_memory_mib) for x in nodes],
        dtype=np.int64,
    ).reshape(n, 6)
    cpu, mem, pods, mem_bytes, count, gpu_mem = (ints[:, k].copy() for k in range(6))
    width = int(count.max()) if n else 0
    present: BoolArray = np.arange(width)[None, :] < count[:, None]
    mem_total: IntArray = np.where(present, gpu_mem[:, None], 0).reshape(n, width)

    # Shape of each node: sharing modes are keyed by object first (nodes of one pool share
    # theirs), so that hashing a mode's fields happens once per distinct object.
    by_object: dict[int, int] = {}
    sharing_ids: dict[Hashable, int] = {}
    shape_ids: dict[tuple[str | None, int, int, int], int] = {}
    firsts: list[Node] = []
    shape_of: list[int] = []
    for x in nodes:
        sid = by_object.get(id(x.sharing))
        if sid is None:
            key = _sharing_key(x.sharing)
            sid = by_object[id(x.sharing)] = sharing_ids.setdefault(key, len(sharing_ids))
        k = shape_ids.setdefault((x.gpu_model, x.gpu_count, x.gpu_memory_mib, sid), len(firsts))
        if k == len(firsts):
            firsts.append(x)
        shape_of.append(k)
    found: dict[str | None, GpuModel | None] = {}
    for x in firsts:
        if x.gpu_model not in found:
            found[x.gpu_model] = find(x.gpu_model)
    shapes = [_shape(x, found[x.gpu_model], width) for x in firsts]
    order = np.argsort(np.asarray(shape_of, dtype=np.int64), kind="stable")
    starts = np.searchsorted(np.asarray(shape_of, dtype=np.int64)[order], np.arange(len(shapes)))
    members = np.split(order, starts[1:]) if shapes else []

    # One object per node for what the state changes node by node.
    layouts = [dict(shapes[k].layouts) for k in shape_of]
    devices = [list(shapes[k].devices) for k in shape_of]
    index = [dict(shapes[k].index) for k in shape_of]
    backed = [shapes[k].backed for k in shape_of]
    fractional: BoolArray = np.zeros((n, width), dtype=np.bool_)
    split: IntArray = np.zeros((n, width), dtype=np.int64)
    for shape, rows in zip(shapes, members, strict=True):
        if shape.fractional.any():
            fractional[rows] = shape.fractional
            split[rows] = shape.split

    # Extended resources, one column each, sorted: device-backed ones, the profiles dynamic
    # MIG may create later (their columns must exist from the start), and plain ones.
    device_resources = {r for shape in shapes for r in (*shape.totals, *shape.dynamic)}
    plain = {k for x in nodes for k in (*x.extended, *x.native)}
    names = tuple(sorted(device_resources | plain))
    col = {name: c for c, name in enumerate(names)}
    ext_alloc: IntArray = np.zeros((n, len(names)), dtype=np.int64)
    ext_free: IntArray = np.zeros((n, len(names)), dtype=np.int64)
    for shape, rows in zip(shapes, members, strict=True):
        if shape.backed:
            cols = [col[r] for r in shape.backed]
            ext_alloc[rows[:, None], cols] = [shape.totals.get(r, 0) for r in shape.backed]
            ext_free[rows[:, None], cols] = [shape.free.get(r, 0) for r in shape.backed]
    for i, x in enumerate(nodes):
        if x.extended or x.native:
            for name, amount in (*x.extended.items(), *x.native.items()):
                if name not in backed[i]:
                    ext_alloc[i, col[name]] = amount
                    ext_free[i, col[name]] = amount

    return Built(
        cpu_alloc=cpu,
        mem_alloc=mem,
        pods_alloc=pods,
        mem_alloc_bytes=mem_bytes,
        gpu_count=count,
        gpu_present=present,
        gpu_mem_total=mem_total,
        gpu_fractional=fractional,
        gpu_split=split,
        models=tuple(shapes[k].model for k in shape_of),
        mig_layouts=layouts,
        devices=devices,
        device_index=index,
        device_users=[{} for _ in nodes],
        device_backed=backed,
        ext_names=names,
        ext_alloc=ext_alloc,
        ext_free=ext_free,
        # Nothing is bound yet: every present GPU is healthy, whole and idle.
        gpu_free_node=1000 * count,
        gpu_idle_count=count.copy(),
    )


def _sharing_key(sharing: NodeSharing) -> Hashable:
    per_gpu = tuple(sorted(sharing.per_gpu.items()))
    return (sharing.default, per_gpu, sharing.mig_strategy, sharing.dynamic_mig)


def _shape(node: Node, model: GpuModel | None, width: int) -> Shape:
    sharing = node.sharing
    layouts = {
        g: initial_layout(model, sharing.for_gpu(g))
        for g in range(node.gpu_count)
        if sharing.for_gpu(g).kind is SharingKind.MIG
    }
    devices = node_devices(sharing, node.gpu_count, model, node.gpu_memory_mib, layouts)
    fractional = np.zeros(width, dtype=np.bool_)
    split = np.zeros(width, dtype=np.int64)
    for g in range(node.gpu_count):
        if sharing.for_gpu(g).kind is SharingKind.FRACTIONAL:
            fractional[g] = True
            split[g] = sharing.for_gpu(g).split_count
    dynamic: frozenset[str] = frozenset()
    if sharing.dynamic_mig and model is not None and sharing.mig_strategy is MigStrategy.MIXED:
        dynamic = frozenset(p.resource_name for p in model.mig_profiles)
    backed = frozenset(d.resource for d in devices) | dynamic
    totals = dict.fromkeys(backed, 0)
    free = dict(totals)
    for d in devices:
        # A fresh GPU is healthy with all its share free; a device fits if its share does.
        totals[d.resource] += 1
        if d.milli <= 1000 and d.memory_mib <= node.gpu_memory_mib:
            free[d.resource] += 1
    return Shape(
        model=model,
        layouts=layouts,
        devices=devices,
        index={d.id: d for d in devices},
        fractional=fractional,
        split=split,
        backed=backed,
        dynamic=dynamic,
        totals=totals,
        free=free,
    )
