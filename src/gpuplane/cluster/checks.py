"""Checks on a ClusterState: does a binding fit, do the invariants hold, is a MIG layout valid."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from gpuplane.catalog import GpuModel, slot_mask
from gpuplane.cluster.binding import CapacityError
from gpuplane.errors import InputError

if TYPE_CHECKING:
    from gpuplane.cluster.binding import Binding, MigLayout
    from gpuplane.cluster.state import ClusterState


def check_binding(state: ClusterState, b: Binding) -> None:
    """Raise CapacityError unless `b` fits the state as it is now."""
    i = b.node
    if not 0 <= i < len(state.nodes):
        raise CapacityError(f"no node with index {i}")
    name = state.nodes[i].name
    if b.cpu_milli < 0 or b.memory_mib < 0 or b.memory_taken_bytes < 0:
        raise CapacityError(f"pod {b.pod}: negative request")
    if b.cpu_milli > state.cpu_free[i] or b.memory_taken_bytes > state.mem_free_bytes[i]:
        raise CapacityError(f"pod {b.pod} does not fit on {name}: cpu or memory")
    if state.pods_free[i] < 1:
        raise CapacityError(f"pod {b.pod} does not fit on {name}: too many pods")
    if not (len(b.gpus) == len(b.gpu_milli) == len(b.gpu_memory_mib)):
        raise CapacityError(f"pod {b.pod}: malformed GPU binding")
    if b.devices and len(b.devices) != len(b.gpus):
        raise CapacityError(f"pod {b.pod}: devices and GPU entries differ in number")
    if len(set(b.devices)) != len(b.devices):
        raise CapacityError(f"pod {b.pod}: a device is named twice")
    if not b.devices and len(set(b.gpus)) != len(b.gpus):
        raise CapacityError(f"pod {b.pod}: a GPU share is named twice")
    milli: dict[int, int] = {}
    mem: dict[int, int] = {}
    for k, (g, m, x) in enumerate(zip(b.gpus, b.gpu_milli, b.gpu_memory_mib, strict=True)):
        if not (0 <= g < state.gpu_width and state.gpu_present[i, g]):
            raise CapacityError(f"pod {b.pod}: {name} has no GPU {g}")
        if m < 0 or x < 0:
            raise CapacityError(f"pod {b.pod}: negative GPU amount")
        if b.devices:
            device = state.device_index[i].get(b.devices[k])
            if device is None or device.gpu != g:
                raise CapacityError(f"pod {b.pod}: {name} has no device {b.devices[k]}")
            if device.id in state.device_users[i]:
                raise CapacityError(f"pod {b.pod}: device {device.id} of {name} is in use")
            if not state.gpu_healthy[i, g]:
                raise CapacityError(f"pod {b.pod}: GPU {g} of {name} is unhealthy")
        milli[g] = milli.get(g, 0) + m
        mem[g] = mem.get(g, 0) + x
    for g in milli:
        if milli[g] > state.gpu_free_milli[i, g] or mem[g] > state.gpu_free_mem[i, g]:
            raise CapacityError(f"pod {b.pod}: GPU {g} of {name} lacks room")
        if not b.devices and state.gpu_fractional[i, g] and state.gpu_free_split[i, g] < 1:
            raise CapacityError(f"pod {b.pod}: GPU {g} of {name} has no split device left")
    for res, amount in b.extended.items():
        col = state.ext_col.get(res)
        if res in state.device_backed[i] and amount:
            raise CapacityError(f"pod {b.pod}: {res} on {name} is taken by device")
        if amount < 0 or (amount > 0 and (col is None or amount > state.ext_free[i, col])):
            raise CapacityError(f"pod {b.pod}: {name} lacks {res}")


def check_invariants(state: ClusterState) -> None:
    """Raise AssertionError if any free amount left its bounds or bindings disagree with it."""
    assert (state.cpu_free >= 0).all() and (state.cpu_free <= state.cpu_alloc).all()
    assert (state.mem_free >= 0).all() and (state.mem_free <= state.mem_alloc).all()
    assert (state.mem_free_bytes >= 0).all()
    assert (state.mem_free_bytes <= state.mem_alloc_bytes).all()
    assert (state.pods_free >= 0).all() and (state.pods_free <= state.pods_alloc).all()
    assert (state.gpu_free_milli >= 0).all() and (state.gpu_free_milli <= 1000).all()
    assert (state.gpu_free_mem >= 0).all() and (state.gpu_free_mem <= state.gpu_mem_total).all()
    assert not state.gpu_free_milli[~state.gpu_present].any()
    assert (state.ext_free >= 0).all() and (state.ext_free <= state.ext_alloc).all()
    used_cpu = np.zeros_like(state.cpu_free)
    used_milli = np.zeros_like(state.gpu_free_milli)
    used_mem = np.zeros_like(state.gpu_free_mem)
    used_split = np.zeros_like(state.gpu_free_split)
    users: list[dict[str, str]] = [{} for _ in state.nodes]
    for b in state.bindings.values():
        used_cpu[b.node] += b.cpu_milli
        for g, milli, mem in zip(b.gpus, b.gpu_milli, b.gpu_memory_mib, strict=True):
            used_milli[b.node, g] += milli
            used_mem[b.node, g] += mem
            if not b.devices and state.gpu_fractional[b.node, g]:
                used_split[b.node, g] += 1
        for device in b.devices:
            assert device not in users[b.node], f"device {device} double-booked"
            users[b.node][device] = b.pod
    assert (state.cpu_alloc - state.cpu_free == used_cpu).all()
    assert (np.where(state.gpu_present, 1000, 0) - state.gpu_free_milli == used_milli).all()
    assert (state.gpu_mem_total - state.gpu_free_mem == used_mem).all()
    assert (state.gpu_split - state.gpu_free_split == used_split).all()
    assert users == state.device_users
    for i in range(len(state.nodes)):
        healthy = state.gpu_healthy[i]
        assert state.gpu_free_node[i] == state.gpu_free_milli[i][healthy].sum()
        assert state.gpu_idle_count[i] == np.count_nonzero(state._idle_row(i))
        model = state.models[i]
        for gpu, layout in state.mig_layouts[i].items():
            assert model is not None and valid_layout(model, layout), (i, gpu, layout)
        for name in state.device_backed[i]:
            free = sum(
                1 for d in state.devices[i] if d.resource == name and state.available(i, d)
            )
            assert state.ext_free[i, state.ext_col[name]] == free, (i, name)


def valid_layout(model: GpuModel, layout: MigLayout) -> bool:
    """Whether MIG instances at these starts can coexist on one GPU of `model`."""
    used = compute = media = 0
    try:
        for name, start in layout:
            profile = model.mig_profile(name)
            mask = slot_mask(profile, start)
            if mask & used or mask >> model.mig_memory_slices:
                return False
            used |= mask
            compute += profile.compute_slices
            media += profile.media_extensions
    except (InputError, ValueError):
        return False
    return compute <= model.mig_compute_slices and media <= 1
