"""Dynamic MIG: reshaping an idle MIG GPU's layout so that a request fits (off by default).

A GPU is reshaped only when no instance on it is in use. The new layout puts the requested
instances at their lowest valid starts, then keeps as many of the old (idle) instances as
still fit, in their old order, so other profiles lose as little as possible, and fills what
is left with more instances of the requested profile. Each reshape is
a reconfiguration event (MIG reconfiguration drains the GPU and takes seconds in real life).
"""

from __future__ import annotations

from gpuplane.catalog import GpuModel, placements_for, slot_mask
from gpuplane.cluster.binding import MigLayout
from gpuplane.cluster.state import ClusterState
from gpuplane.sharing import SharingKind


def _idle_mig_gpus(state: ClusterState, node: int) -> list[int]:
    sharing = state.nodes[node].sharing
    users = state.device_users[node]
    busy = {d.gpu for d in state.devices[node] if d.id in users}
    return [
        g
        for g in range(state.nodes[node].gpu_count)
        if sharing.for_gpu(g).kind is SharingKind.MIG
        and g not in busy
        and state.gpu_healthy[node, g]
    ]


def _add(model: GpuModel, layout: list[tuple[str, int]], profile: str) -> bool:
    used = compute = 0
    media = False
    for name, start in layout:
        p = model.mig_profile(name)
        used |= slot_mask(p, start)
        compute += p.compute_slices
        media |= p.media_extensions
    starts = placements_for(model, profile, used, compute, media_in_use=media)
    if not starts:
        return False
    layout.append((model.mig_profile(profile).name, starts[0]))
    return True


def _reshaped(model: GpuModel, old: MigLayout, profile: str, count: int) -> tuple[MigLayout, int]:
    """A layout with up to `count` new instances of `profile`, and how many it holds."""
    layout: list[tuple[str, int]] = []
    made = 0
    while made < count and _add(model, layout, profile):
        made += 1
    for name, _ in old:
        _add(model, layout, name)
    # Space nothing else claims goes to more of the profile in demand: the next request for
    # it then needs no reshape (and a GPU in use cannot be reshaped at all).
    while _add(model, layout, profile):
        made += 1
    return tuple(layout), made


def dynamic_capacity(state: ClusterState, node: int, profile: str) -> int:
    """How many instances of `profile` the node could offer now, reshaping idle GPUs."""
    model = state.models[node]
    if model is None:
        return 0
    idle = set(_idle_mig_gpus(state, node))
    resource = model.mig_profile(profile).resource_name
    total = 0
    for g in range(state.nodes[node].gpu_count):
        existing = sum(1 for d in state.free_devices(node, resource) if d.gpu == g)
        if g in idle:
            _, made = _reshaped(model, (), profile, model.mig_memory_slices)
            existing = max(existing, made)
        total += existing
    return total


def reshape_plan(
    state: ClusterState, node: int, profile: str, missing: int
) -> tuple[tuple[int, MigLayout], ...]:
    """(GPU, new layout) steps that create `missing` more instances of `profile`, or ()."""
    model = state.models[node]
    if model is None or missing <= 0:
        return ()
    plan: list[tuple[int, MigLayout]] = []
    resource = model.mig_profile(profile).resource_name
    for g in _idle_mig_gpus(state, node):
        if missing <= 0:
            break
        have = sum(1 for d in state.free_devices(node, resource) if d.gpu == g)
        old = state.mig_layouts[node].get(g, ())
        layout, _ = _reshaped(model, old, profile, have + missing)
        # Every instance of an idle GPU is free after the reshape, old ones included.
        name = model.mig_profile(profile).name
        gain = sum(1 for n, _ in layout if n == name) - have
        if gain > 0:
            plan.append((g, layout))
            missing -= gain
    return tuple(plan) if missing <= 0 else ()
