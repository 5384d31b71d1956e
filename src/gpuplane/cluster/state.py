"""ClusterState: nodes and their GPUs as numpy struct-of-arrays, with exact reserve and release.

Node resources are 1-D arrays indexed by node; GPU resources are 2-D arrays indexed by
(node, GPU index on that node), padded to the widest node so that per-GPU checks over the
whole cluster are single numpy expressions. A padded slot is marked absent in `gpu_present`
and holds no free capacity, so it can never be chosen.

Each node also has its device list (`gpuplane.sharing.devices`): what the device plugin advertises
under the node's sharing mode. The free count of every device-backed resource is kept in the
extended-resource columns (`ext_free`), so that filtering on it is one vectorized comparison,
and recomputed for a node whenever something on it changes.

The state decides nothing: it answers "is this free?" and applies a `Binding` the placement
engine chose, after checking that the binding fits. A binding that does not fit raises
`CapacityError` and changes nothing, so invariants hold between any two calls:
free capacity never goes below zero and never above allocatable, and releasing a binding
restores exactly what reserving it took. `trial()` opens a what-if: every change made inside
it is undone on exit (see `cluster.journal`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import numpy.typing as npt

from gpuplane.catalog import GpuModel
from gpuplane.cluster.binding import Binding, CapacityError, MigLayout, MigReconfiguration
from gpuplane.cluster.build import build
from gpuplane.cluster.checks import check_binding, check_invariants, valid_layout
from gpuplane.cluster.journal import (
    HealthSet,
    Journal,
    Released,
    Reserved,
    Reshaped,
    Trial,
    Versioned,
    stamp,
    undo,
)
from gpuplane.objects.node import Node
from gpuplane.quantity import MIB
from gpuplane.sharing import Device, SharingKind, node_devices

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


class ClusterState:
    """The cluster as the brain sees it. Build it from nodes, then reserve and release."""

    def __init__(self, nodes: Sequence[Node]) -> None:
        names = [n.name for n in nodes]
        if len(set(names)) != len(names):
            dupes = sorted({n for n in names if names.count(n) > 1})
            raise ValueError(f"duplicate node names: {', '.join(dupes[:5])}")
        self.nodes: tuple[Node, ...] = tuple(nodes)
        self.index: dict[str, int] = {name: i for i, name in enumerate(names)}
        # Per-node work is done once per node shape (see `cluster.build`).
        b = build(self.nodes)
        self.cpu_alloc: IntArray = b.cpu_alloc
        self.mem_alloc: IntArray = b.mem_alloc
        self.pods_alloc: IntArray = b.pods_alloc
        self.cpu_free = self.cpu_alloc.copy()
        self.mem_free = self.mem_alloc.copy()
        # Fit compares exact bytes, as kube-scheduler does: a node's allocatable rounds down to
        # MiB and a request up, so in MiB a pod asking exactly a node's bytes would not fit.
        # `mem_free` (MiB, for scores) is derived from the bytes after every change.
        self.mem_alloc_bytes: IntArray = b.mem_alloc_bytes
        self.mem_free_bytes = self.mem_alloc_bytes.copy()
        self.pods_free = self.pods_alloc.copy()

        self.gpu_count: IntArray = b.gpu_count
        self.gpu_present: BoolArray = b.gpu_present
        self.gpu_mem_total: IntArray = b.gpu_mem_total
        self.gpu_healthy: BoolArray = self.gpu_present.copy()
        self.gpu_free_milli: IntArray = np.where(self.gpu_present, 1000, 0).astype(np.int64)
        self.gpu_free_mem: IntArray = self.gpu_mem_total.copy()

        # The sharing model: devices per node, MIG layouts per GPU, which GPUs take fractions.
        self.models: tuple[GpuModel | None, ...] = b.models
        self.gpu_fractional: BoolArray = b.gpu_fractional
        #: Split devices per fractional GPU (the kubelet's count), and those no fraction holds:
        #: every fraction on a GPU takes one (`gpuplane.sharing.devices`).
        self.gpu_split: IntArray = b.gpu_split
        self.gpu_free_split: IntArray = b.gpu_split.copy()
        self.mig_layouts: list[dict[int, MigLayout]] = b.mig_layouts
        self.devices: list[list[Device]] = b.devices
        #: Device id -> pod key, per node, for devices in use.
        self.device_users: list[dict[str, str]] = b.device_users
        self.device_index: list[dict[str, Device]] = b.device_index
        self.mig_reconfigurations: list[MigReconfiguration] = []

        # Extended resources, one column each: device-backed ones (kept in step with the
        # devices) and plain ones a Node manifest lists (RDMA, ephemeral-storage, hugepages-*),
        # counted as numbers.
        self.ext_names: tuple[str, ...] = b.ext_names
        self.ext_col: dict[str, int] = {name: i for i, name in enumerate(self.ext_names)}
        self.ext_alloc: IntArray = b.ext_alloc
        self.ext_free: IntArray = b.ext_free
        self.device_backed: list[frozenset[str]] = b.device_backed

        # Per-node summaries kept up to date on every change, so that GPU scoring and
        # whole-GPU fit are 1-D expressions instead of scans of the (nodes, slots) arrays.
        self.gpu_free_node: IntArray = b.gpu_free_node
        self.gpu_idle_count: IntArray = b.gpu_idle_count

        #: Pod key -> binding, in the order they were made (`_order` holds that order's stamps).
        self.bindings: dict[str, Binding] = {}
        self._order: dict[str, int] = {}
        #: Bumped whenever nodes, their labels or taints change; caches of node masks key on it.
        self.generation = 0
        #: A fresh stamp per node on every reserve, release, reconfiguration or health change
        #: of that node, so that score plugins can cache per-node work and redo only what
        #: changed. Stamps are never reused (see `cluster.journal`), so a trial can restore them.
        self.node_version: IntArray = np.zeros(len(self.nodes), dtype=np.int64)
        #: A fresh stamp on every change anywhere: "has anything changed since?" in O(1).
        self.changes = 0
        self._journal = Journal()

    # -- reading ---------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.nodes)

    @property
    def gpu_width(self) -> int:
        """GPU slots per node row (the most GPUs any node has)."""
        return int(self.gpu_present.shape[1])

    @property
    def total_gpus(self) -> int:
        return int(self.gpu_count.sum())

    def allocated_gpu_milli(self) -> int:
        """Milli-GPU held by pods across the cluster (unhealthy GPUs included)."""
        return int(1000 * self.gpu_count.sum() - self.gpu_free_milli[self.gpu_present].sum())

    def available(self, node: int, device: Device) -> bool:
        """Whether a device can be handed out now: unused, healthy, and its share is free."""
        g = device.gpu
        return (
            device.id not in self.device_users[node]
            and bool(self.gpu_healthy[node, g])
            and self.gpu_free_milli[node, g] >= device.milli
            and self.gpu_free_mem[node, g] >= device.memory_mib
        )

    def free_devices(self, node: int, resource: str) -> list[Device]:
        """The node's devices of `resource` that are available now, in device order."""
        return [d for d in self.devices[node] if d.resource == resource and self.available(node, d)]

    def _idle_row(self, i: int) -> BoolArray:
        idle: BoolArray = (
            self.gpu_healthy[i]
            & (self.gpu_free_milli[i] == 1000)
            & (self.gpu_free_mem[i] == self.gpu_mem_total[i])
        )
        return idle

    def _refresh(self, i: int) -> None:
        """Recompute node i's summaries and the free counts of its device-backed resources."""
        # The node's rows read once as Python lists: this runs on every reserve and release
        # (and their undo), where numpy's per-call overhead on rows this short would dominate.
        ok, free_milli = self.gpu_healthy[i].tolist(), self.gpu_free_milli[i].tolist()
        free_mem, total_mem = self.gpu_free_mem[i].tolist(), self.gpu_mem_total[i].tolist()
        free_node = idle = 0
        for h, milli, mem, total_g in zip(ok, free_milli, free_mem, total_mem, strict=True):
            if h:
                free_node += milli
                if milli == 1000 and mem == total_g:
                    idle += 1
        self.gpu_free_node[i] = free_node
        self.gpu_idle_count[i] = idle
        if not self.device_backed[i]:
            return
        free: dict[str, int] = dict.fromkeys(self.device_backed[i], 0)
        total = dict(free)
        users = self.device_users[i]
        for d in self.devices[i]:
            g = d.gpu
            if ok[g]:
                total[d.resource] += 1
                if d.id not in users and free_milli[g] >= d.milli and free_mem[g] >= d.memory_mib:
                    free[d.resource] += 1
        for name in self.device_backed[i]:
            col = self.ext_col[name]
            self.ext_alloc[i, col] = total[name]
            self.ext_free[i, col] = free[name]

    # -- changing --------------------------------------------------------------------------

    @contextmanager
    def trial(self) -> Iterator[Trial]:
        """A what-if: every reserve, release, MIG reshape and health change made inside is
        undone on exit, leaving the state identical to before (counters included).

        Trials nest. `keep()` on the yielded trial keeps its changes instead; inside an outer
        trial they are then undone when that one exits.
        """
        journal = self._journal
        trial = Trial(len(journal.entries), self.changes)
        journal.open.append(trial)
        try:
            yield trial
        finally:
            journal.open.pop()
            trial.changed = self.changes != trial.changes
            if not trial.kept:
                undo(self, trial)
            elif not journal.open:
                del journal.entries[trial.mark :]

    def reserve(self, binding: Binding) -> None:
        """Take what `binding` names, or raise CapacityError and take nothing."""
        if binding.pod in self.bindings:
            raise CapacityError(f"pod {binding.pod} is already bound")
        self._check(binding)
        self._touch(binding.node)
        self._apply(binding, -1)
        self.bindings[binding.pod] = binding
        self._order[binding.pod] = stamp()
        if self._journal.open:
            self._journal.entries.append(Reserved(binding))

    def release(self, pod: str) -> Binding:
        """Give back exactly what the pod's binding took; returns the binding."""
        binding = self.bindings.pop(pod, None)
        if binding is None:
            raise CapacityError(f"pod {pod} is not bound")
        order = self._order.pop(pod)
        if self._journal.open:
            users = dict(self.device_users[binding.node]) if binding.devices else None
            self._journal.entries.append(Released(binding, order, users))
        self._touch(binding.node)
        self._apply(binding, +1)
        return binding

    def set_gpu_health(self, node: int, gpu: int, healthy: bool) -> None:
        """Mark a GPU healthy or not; an unhealthy GPU takes no new work."""
        if not self.gpu_present[node, gpu]:
            raise IndexError(f"node {self.nodes[node].name} has no GPU {gpu}")
        self._journal.record(HealthSet(node, gpu, bool(self.gpu_healthy[node, gpu])))
        self._touch(node)
        self.gpu_healthy[node, gpu] = healthy
        self._refresh(node)

    def reconfigure_mig(
        self, node: int, gpu: int, layout: MigLayout, forget: MigReconfiguration | None = None
    ) -> MigReconfiguration:
        """Give an idle MIG GPU a new layout (dynamic MIG); refuses one in use or invalid.

        The reshape is logged in `mig_reconfigurations`, unless it takes back the logged
        reshape `forget` (an assumed placement forgotten): that one is struck from the log.
        """
        sharing = self.nodes[node].sharing
        model = self.models[node]
        name = self.nodes[node].name
        if not sharing.dynamic_mig or sharing.for_gpu(gpu).kind is not SharingKind.MIG:
            raise CapacityError(f"GPU {gpu} of {name} is not a dynamic MIG GPU")
        if model is None:
            raise CapacityError(f"{name}: unknown GPU model, no MIG geometry")
        users = self.device_users[node]
        if any(d.gpu == gpu and d.id in users for d in self.devices[node]):
            raise CapacityError(f"GPU {gpu} of {name} has MIG instances in use")
        if not valid_layout(model, layout):
            raise CapacityError(f"layout {layout} is not one a {model.product} allows")
        event = MigReconfiguration(name, gpu, self.mig_layouts[node].get(gpu, ()), layout)
        log = self.mig_reconfigurations
        struck = None if forget is None else (log.index(forget), forget)
        before = self.mig_layouts[node].get(gpu)
        self._journal.record(
            Reshaped(node, gpu, before, self.devices[node], self.device_index[node], struck)
        )
        self._touch(node)
        self.mig_layouts[node][gpu] = layout
        node_obj = self.nodes[node]
        self.devices[node] = node_devices(
            node_obj.sharing,
            node_obj.gpu_count,
            model,
            node_obj.gpu_memory_mib,
            self.mig_layouts[node],
        )
        self.device_index[node] = {d.id: d for d in self.devices[node]}
        if struck is None:
            log.append(event)
        else:
            del log[struck[0]]
        self._refresh(node)
        return event

    def _touch(self, i: int) -> None:
        """Node i is about to change: fresh stamps for its version and the change counter."""
        if self._journal.open:
            self._journal.entries.append(Versioned(i, int(self.node_version[i])))
        self.node_version[i] = stamp()
        self.changes = stamp()

    def _apply(self, b: Binding, sign: int) -> None:
        i = b.node
        self.cpu_free[i] += sign * b.cpu_milli
        self.mem_free_bytes[i] += sign * b.memory_taken_bytes
        self.mem_free[i] = self.mem_free_bytes[i] // MIB
        self.pods_free[i] += sign
        if b.gpus:
            # Added one share at a time (two replicas of one GPU in one binding must both
            # count), on the node's rows as Python lists: numpy's per-call overhead would
            # dominate on rows this short.
            milli, mem = self.gpu_free_milli[i].tolist(), self.gpu_free_mem[i].tolist()
            for g, m, mib in zip(b.gpus, b.gpu_milli, b.gpu_memory_mib, strict=True):
                milli[g] += sign * m
                mem[g] += sign * mib
            self.gpu_free_milli[i] = milli
            self.gpu_free_mem[i] = mem
            if not b.devices:
                # A fraction: one split device of each fractional GPU it shares.
                split, fractional = self.gpu_free_split[i].tolist(), self.gpu_fractional[i]
                for g in b.gpus:
                    if fractional[g]:
                        split[g] += sign
                self.gpu_free_split[i] = split
        users = self.device_users[i]
        for device in b.devices:
            if sign < 0:
                users[device] = b.pod
            else:
                users.pop(device, None)
        for res, amount in b.extended.items():
            if amount:
                self.ext_free[i, self.ext_col[res]] += sign * amount
        self._refresh(i)

    def _check(self, b: Binding) -> None:
        check_binding(self, b)

    def check_invariants(self) -> None:
        """Raise AssertionError if any free amount left its bounds or bindings disagree with it."""
        check_invariants(self)

