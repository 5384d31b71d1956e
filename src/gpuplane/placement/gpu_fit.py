"""Which nodes can take a pod's GPU request, and which devices or GPU shares it gets there.

Requests for advertised devices (whole GPUs `nvidia.com/gpu`, shared replicas, MIG instances,
vGPUs, renamed resources) are checked against the node's free device counts, which the
ClusterState keeps per resource; a node whose devices of that resource refuse requests for
more than one replica (the device plugin's failRequestsGreaterThanOne) refuses bigger ones.
Dynamic-MIG nodes also count the instances they could create by reshaping idle GPUs.

Fractions (HAMi, KAI) are checked GPU by GPU over the GPUs in fractional mode: each needs
`milli` free compute, its memory free and one of the GPU's split devices (the kubelet hands
each pod on a fractional GPU one: `gpuplane.sharing.devices`). Memory is what the user named
(MiB or percent); when only compute was named, the fraction takes the same fraction of the
GPU's memory (rounded down, so that compute shares summing to a whole GPU also fit its
memory), so that neither can be oversubscribed by the other's pods. Unhealthy GPUs take no
new work.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gpuplane.catalog.resources import GPU, mig_resource
from gpuplane.cluster.state import BoolArray, ClusterState, IntArray
from gpuplane.objects.gpu_request import GpuKind, GpuRequest
from gpuplane.placement.assign import (
    Assignment,
    dynamic_capacity,
    pick_devices,
    pick_fraction,
    reshape_plan,
)
from gpuplane.sharing import gpu_devices

NO_FRACTIONAL_GPUS = "node(s) had no GPUs shared by fraction"
NO_SPLIT_DEVICE = "node(s) had no GPU with a split device left (deviceSplitCount)"
ONE_REPLICA_ONLY = (
    "node(s) refuse requests for more than one shared GPU (failRequestsGreaterThanOne)"
)


def request_resource(request: GpuRequest) -> str:
    """The extended resource a device request counts against."""
    if request.kind is GpuKind.WHOLE:
        return GPU
    if request.kind is GpuKind.MIG:
        return mig_resource(request.mig_profile or "")
    return request.resource


@dataclass
class GpuFit:
    """The GPU side of one pod's scheduling cycle, computed lazily once per cycle."""

    request: GpuRequest
    state: ClusterState
    #: Per-node values that outlive the cycle (dynamic MIG capacity), by node version.
    memo: dict[str, tuple[IntArray, IntArray]] | None = None
    _usable: BoolArray | None = None
    _need_mem: IntArray | None = None

    @property
    def fraction(self) -> bool:
        return self.request.wants_gpu and self.request.kind is GpuKind.FRACTION

    @property
    def resource(self) -> str | None:
        """The device resource asked for, or None for fractions and no GPU."""
        if not self.request.wants_gpu or self.fraction:
            return None
        return request_resource(self.request)

    # -- fractions ---------------------------------------------------------------------------

    def need_memory(self) -> IntArray:
        """GPU memory (MiB) a fraction needs on each GPU slot, as a (nodes, slots) array."""
        if self._need_mem is None:
            self._need_mem = self._need_memory_of(self.state.gpu_mem_total)
        return self._need_mem

    def _need_memory_of(self, total: IntArray) -> IntArray:
        req = self.request
        if req.memory_mib is not None:
            need: IntArray = np.full_like(total, req.memory_mib)
        elif req.memory_percent is not None:
            need = -((-total * req.memory_percent) // 100)
        else:
            # Rounded down: shares that add up to a whole GPU must fit its memory too
            # (rounding each up could refuse 650m + 350m by a MiB).
            need = (total * req.milli) // 1000
        return need

    def usable(self) -> BoolArray:
        """(nodes, slots): fractional GPUs that can take one GPU's part of the request."""
        if self._usable is None:
            s, req = self.state, self.request
            self._usable = (
                s.gpu_fractional
                & s.gpu_healthy
                & (s.gpu_free_split > 0)
                & (s.gpu_free_milli >= req.milli)
                & (s.gpu_free_mem >= self.need_memory())
            )
        return self._usable

    # -- filtering ---------------------------------------------------------------------------

    def failures(self, rows: IntArray | None = None) -> list[tuple[str, BoolArray]]:
        """(reason, failing-node mask) for the GPU part of NodeResourcesFit, at `rows` (or all)."""
        req, s = self.request, self.state
        if not req.wants_gpu:
            return []
        ix: IntArray | slice = slice(None) if rows is None else rows
        if self.fraction:
            return self._fraction_failures(ix)
        resource = request_resource(req)
        if req.kind is GpuKind.MIG and rows is not None:
            # Dynamic MIG capacity is remembered over the whole cluster: answer for all, pick.
            return [(reason, mask[rows]) for reason, mask in self.failures()]
        n = len(s) if rows is None else len(rows)
        col = s.ext_col.get(resource)
        free = s.ext_free[ix, col] if col is not None else np.zeros(n, dtype=np.int64)
        short = free < req.count
        if req.kind is GpuKind.MIG and short.any():
            short = short & ~self._dynamic_fits(resource, short)
        out = [(f"Insufficient {resource}", short)]
        if req.count > 1:
            out.append((ONE_REPLICA_ONLY, self._one_replica_only(resource)[ix] & ~short))
        return out

    def _fraction_failures(self, ix: IntArray | slice) -> list[tuple[str, BoolArray]]:
        req, s = self.request, self.state
        fractional, healthy = s.gpu_fractional[ix], s.gpu_healthy[ix]
        has_fractional = fractional.any(axis=1)
        open_ = fractional & (s.gpu_free_split[ix] > 0)
        compute = open_ & healthy & (s.gpu_free_milli[ix] >= req.milli)
        if isinstance(ix, slice):
            usable = self.usable()
        else:
            usable = compute & (s.gpu_free_mem[ix] >= self._need_memory_of(s.gpu_mem_total[ix]))
        fits = usable.sum(axis=1) >= req.count
        open_ok = open_.sum(axis=1) >= req.count
        compute_ok = compute.sum(axis=1) >= req.count
        short = ~fits & has_fractional
        return [
            (NO_FRACTIONAL_GPUS, ~has_fractional),
            (NO_SPLIT_DEVICE, short & ~open_ok),
            ("Insufficient GPU compute share", short & open_ok & ~compute_ok),
            ("Insufficient GPU memory", short & compute_ok),
        ]

    def _dynamic_fits(self, resource: str, short: BoolArray) -> BoolArray:
        """Nodes that reach the count by reshaping idle MIG GPUs (dynamic MIG nodes only).

        The capacity per node is remembered with the node's version, so each cycle
        recomputes it only for nodes that changed since (usually the one last bound).
        """
        s, req = self.state, self.request
        memo = self.memo if self.memo is not None else {}
        cached = memo.get(resource)
        if cached is None or len(cached[0]) != len(s):
            cached = (np.full(len(s), -1, dtype=np.int64), np.zeros(len(s), dtype=np.int64))
            memo[resource] = cached
        versions, capacity = cached
        dynamic = self._dynamic_nodes(resource)
        stale = np.flatnonzero(dynamic & short & (versions != s.node_version))
        for i in stale:
            capacity[i] = dynamic_capacity(s, int(i), req.mig_profile or "")
            versions[i] = s.node_version[i]
        out: BoolArray = dynamic & (capacity >= req.count)
        return out

    def _dynamic_nodes(self, resource: str) -> BoolArray:
        s = self.state
        key = f"dynamic-mig-nodes {resource} {s.generation}"
        memo = self.memo if self.memo is not None else {}
        if key not in memo:
            mask = np.array(
                [
                    n.sharing.dynamic_mig and resource in s.device_backed[i]
                    for i, n in enumerate(s.nodes)
                ],
                dtype=np.int64,
            )
            memo[key] = (mask, mask)
        nodes: BoolArray = memo[key][0].astype(np.bool_)
        return nodes

    def _one_replica_only(self, resource: str) -> BoolArray:
        """Nodes whose replicas of `resource` refuse multi-replica requests (static per node)."""
        s = self.state
        memo = self.memo if self.memo is not None else {}
        key = f"fail-gt1 {resource} {s.generation}"
        if key not in memo:
            mask = np.array(
                [
                    any(
                        node.sharing.for_gpu(g).fail_requests_greater_than_one
                        and node.sharing.for_gpu(g).replicated
                        and node.sharing.for_gpu(g).resource == resource
                        for g in range(node.gpu_count)
                    )
                    for node in s.nodes
                ],
                dtype=np.int64,
            )
            memo[key] = (mask, mask)
        refuses: BoolArray = memo[key][0].astype(np.bool_)
        return refuses

    # -- assigning ---------------------------------------------------------------------------

    def assign(self, node: int) -> Assignment:
        """The devices or shares the pod gets on `node` (which passed the filters)."""
        req, s = self.request, self.state
        if not req.wants_gpu:
            return Assignment()
        if self.fraction:
            return pick_fraction(
                s, node, self.usable()[node], self.need_memory()[node], req.milli, req.count
            )
        resource = request_resource(req)
        found = pick_devices(s, node, resource, req.count)
        if len(found.devices) < req.count and req.kind is GpuKind.MIG:
            return self._reshape(node, resource, found)
        return found

    def _reshape(self, node: int, resource: str, found: Assignment) -> Assignment:
        """Devices after reshaping idle MIG GPUs: kept ones elsewhere, new ones where reshaped."""
        s, req = self.state, self.request
        plan = reshape_plan(s, node, req.mig_profile or "", req.count - len(found.devices))
        reshaped = {gpu for gpu, _ in plan}
        sharing = s.nodes[node].sharing
        kept = [
            s.device_index[node][d]
            for d in found.devices
            if s.device_index[node][d].gpu not in reshaped
        ]
        new = [
            d
            for gpu, layout in plan
            for d in gpu_devices(
                gpu,
                sharing.for_gpu(gpu),
                s.models[node],
                s.nodes[node].gpu_memory_mib,
                sharing.mig_strategy,
                layout,
            )
            if d.resource == resource
        ]
        notes = tuple(f"MIG reconfigured: GPU {g} -> {[p for p, _ in lay]}" for g, lay in plan)
        return Assignment.of_devices((kept + new)[: req.count], plan, notes)

    def choose(self, node: int) -> list[tuple[int, int, int]]:
        """(gpu index, milli, memory MiB) per device or share the pod gets on `node`."""
        a = self.assign(node)
        return list(zip(a.gpus, a.milli, a.memory_mib, strict=True))
