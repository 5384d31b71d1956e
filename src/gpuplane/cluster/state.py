"""ClusterState: nodes and their GPUs as numpy struct-of-arrays, with exact reserve and release.

Node resources are 1-D arrays indexed by node; GPU resources are 2-D arrays indexed by
(node, GPU index on that node), padded to the widest node so that per-GPU checks over the
whole cluster are single numpy expressions. A padded slot is marked absent in `gpu_present`
and holds no free capacity, so it can never be chosen.

Each node also has its device list (`cluster.devices`): what the device plugin advertises
under the node's sharing mode. The free count of every device-backed resource is kept in the
extended-resource columns (`ext_free`), so that filtering on it is one vectorized comparison,
and recomputed for a node whenever something on it changes.

The state decides nothing: it answers "is this free?" and applies a `Binding` the placement
engine chose, after checking that the binding fits. A binding that does not fit raises
`CapacityError` and changes nothing, so invariants hold between any two calls:
free capacity never goes below zero and never above allocatable, and releasing a binding
restores exactly what reserving it took.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from gpuplane.catalog import GpuModel, lookup, slot_mask
from gpuplane.errors import InputError
from gpuplane.objects.node import Node
from gpuplane.objects.pod import Pod
from gpuplane.sharing import Device, MigStrategy, SharingKind, initial_layout, node_devices

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

MigLayout = tuple[tuple[str, int], ...]


class CapacityError(RuntimeError):
    """A reserve that would over-allocate, or a release of something never reserved.

    This is a bug in the caller (the placement engine checks fit first), not bad user input.
    """


@dataclass(frozen=True)
class Binding:
    """What one pod holds on one node: the exact amounts, so release can undo them.

    `gpus`, `gpu_milli` and `gpu_memory_mib` are parallel: one entry per device or fraction
    taken, so a GPU appears twice when two replicas of it go to one pod. `devices` names the
    advertised devices taken (empty for fractions, which take shares, not devices).
    `extended` holds extended resources that are not backed by devices, as counts.
    """

    pod: str  # namespace/name
    node: int
    cpu_milli: int
    memory_mib: int
    gpus: tuple[int, ...] = ()
    gpu_milli: tuple[int, ...] = ()
    gpu_memory_mib: tuple[int, ...] = ()
    devices: tuple[str, ...] = ()
    extended: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class MigReconfiguration:
    """A MIG GPU whose layout was reshaped (dynamic MIG): an event worth counting and showing."""

    node: str
    gpu: int
    before: MigLayout
    after: MigLayout


def _model_of(node: Node) -> GpuModel | None:
    if not node.gpu_model:
        return None
    try:
        return lookup(node.gpu_model)
    except InputError:
        return None  # an unknown product label still schedules whole GPUs


class ClusterState:
    """The cluster as the brain sees it. Build it from nodes, then reserve and release."""

    def __init__(self, nodes: Sequence[Node]) -> None:
        names = [n.name for n in nodes]
        if len(set(names)) != len(names):
            dupes = sorted({n for n in names if names.count(n) > 1})
            raise ValueError(f"duplicate node names: {', '.join(dupes[:5])}")
        self.nodes: tuple[Node, ...] = tuple(nodes)
        self.index: dict[str, int] = {name: i for i, name in enumerate(names)}
        n = len(nodes)
        width = max((node.gpu_count for node in nodes), default=0)

        self.cpu_alloc: IntArray = np.array([x.cpu_milli for x in nodes], dtype=np.int64)
        self.mem_alloc: IntArray = np.array([x.memory_mib for x in nodes], dtype=np.int64)
        self.pods_alloc: IntArray = np.array([x.pods for x in nodes], dtype=np.int64)
        self.cpu_free = self.cpu_alloc.copy()
        self.mem_free = self.mem_alloc.copy()
        self.pods_free = self.pods_alloc.copy()

        self.gpu_count: IntArray = np.array([x.gpu_count for x in nodes], dtype=np.int64)
        self.gpu_present: BoolArray = np.arange(width)[None, :] < self.gpu_count[:, None]
        per_node_mem = np.array([x.gpu_memory_mib for x in nodes], dtype=np.int64)
        self.gpu_mem_total: IntArray = np.where(self.gpu_present, per_node_mem[:, None], 0).reshape(
            n, width
        )
        self.gpu_healthy: BoolArray = self.gpu_present.copy()
        self.gpu_free_milli: IntArray = np.where(self.gpu_present, 1000, 0).astype(np.int64)
        self.gpu_free_mem: IntArray = self.gpu_mem_total.copy()

        # The sharing model: devices per node, MIG layouts per GPU, which GPUs take fractions.
        self.models: tuple[GpuModel | None, ...] = tuple(_model_of(x) for x in nodes)
        self.gpu_fractional: BoolArray = np.zeros((n, width), dtype=np.bool_)
        self.mig_layouts: list[dict[int, MigLayout]] = []
        self.devices: list[list[Device]] = []
        for i, node in enumerate(nodes):
            model = self.models[i]
            layouts = {
                g: initial_layout(model, node.sharing.for_gpu(g))
                for g in range(node.gpu_count)
                if node.sharing.for_gpu(g).kind is SharingKind.MIG
            }
            self.mig_layouts.append(layouts)
            self.devices.append(
                node_devices(node.sharing, node.gpu_count, model, node.gpu_memory_mib, layouts)
            )
            for g in range(node.gpu_count):
                self.gpu_fractional[i, g] = node.sharing.for_gpu(g).kind is SharingKind.FRACTIONAL
        #: Device id -> pod key, per node, for devices in use.
        self.device_users: list[dict[str, str]] = [{} for _ in nodes]
        self.device_index: list[dict[str, Device]] = [{d.id: d for d in ds} for ds in self.devices]
        self.mig_reconfigurations: list[MigReconfiguration] = []

        # Extended resources, one column each: device-backed ones (kept in step with the
        # devices) and plain ones a Node manifest lists (RDMA, ...), counted as numbers.
        device_resources = {d.resource for ds in self.devices for d in ds}
        device_resources |= self._dynamic_mig_resources()
        plain = {k for x in nodes for k in x.extended}
        self.ext_names: tuple[str, ...] = tuple(sorted(device_resources | plain))
        self.ext_col: dict[str, int] = {name: i for i, name in enumerate(self.ext_names)}
        self.ext_alloc: IntArray = np.zeros((n, len(self.ext_names)), dtype=np.int64)
        self.device_backed: list[frozenset[str]] = []
        for i, node in enumerate(nodes):
            backed = frozenset(d.resource for d in self.devices[i])
            if node.sharing.dynamic_mig:
                backed |= self._mig_resources_of(i)
            self.device_backed.append(backed)
            for name, amount in node.extended.items():
                if name not in backed:
                    self.ext_alloc[i, self.ext_col[name]] = amount
        self.ext_free = self.ext_alloc.copy()

        # Per-node summaries kept up to date on every change, so that GPU scoring and
        # whole-GPU fit are 1-D expressions instead of scans of the (nodes, slots) arrays.
        self.gpu_free_node: IntArray = np.zeros(n, dtype=np.int64)
        self.gpu_idle_count: IntArray = np.zeros(n, dtype=np.int64)
        for i in range(n):
            self._refresh(i)

        self.bindings: dict[str, Binding] = {}
        #: Bumped whenever nodes, their labels or taints change; caches of node masks key on it.
        self.generation = 0
        #: Bumped per node on every reserve, release, reconfiguration or health change of that
        #: node, so that score plugins can cache per-node work and redo only what changed.
        self.node_version: IntArray = np.zeros(n, dtype=np.int64)
        #: Bumped on every change anywhere: "has anything changed since?" in O(1).
        self.changes = 0

    def _mig_resources_of(self, i: int) -> frozenset[str]:
        model, node = self.models[i], self.nodes[i]
        if model is None or node.sharing.mig_strategy is not MigStrategy.MIXED:
            return frozenset()
        return frozenset(p.resource_name for p in model.mig_profiles)

    def _dynamic_mig_resources(self) -> set[str]:
        # Dynamic MIG may create any profile later; its column must exist from the start.
        out: set[str] = set()
        for i, node in enumerate(self.nodes):
            if node.sharing.dynamic_mig:
                out |= self._mig_resources_of(i)
        return out

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

    def gpu_free_total(self) -> IntArray:
        """Free milli-GPU per node, healthy GPUs only."""
        return self.gpu_free_node

    def allocated_gpu_milli(self) -> int:
        return int(1000 * self.gpu_count.sum() - self.gpu_free_milli[self.gpu_present].sum())

    def idle_gpus(self, node: int) -> IntArray:
        """Indices of the node's healthy GPUs with nothing on them, ascending."""
        return np.flatnonzero(self._idle_row(node))

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

    def pods_on(self, node: int) -> list[Binding]:
        return [b for b in self.bindings.values() if b.node == node]

    def _idle_row(self, i: int) -> BoolArray:
        idle: BoolArray = (
            self.gpu_healthy[i]
            & (self.gpu_free_milli[i] == 1000)
            & (self.gpu_free_mem[i] == self.gpu_mem_total[i])
        )
        return idle

    def _refresh(self, i: int) -> None:
        """Recompute node i's summaries and the free counts of its device-backed resources."""
        healthy = self.gpu_healthy[i]
        self.gpu_free_node[i] = int(self.gpu_free_milli[i][healthy].sum())
        self.gpu_idle_count[i] = int(np.count_nonzero(self._idle_row(i)))
        if not self.device_backed[i]:
            return
        free: dict[str, int] = dict.fromkeys(self.device_backed[i], 0)
        total = dict(free)
        for d in self.devices[i]:
            if healthy[d.gpu]:
                total[d.resource] += 1
                if self.available(i, d):
                    free[d.resource] += 1
        for name in self.device_backed[i]:
            col = self.ext_col[name]
            self.ext_alloc[i, col] = total[name]
            self.ext_free[i, col] = free[name]

    # -- changing --------------------------------------------------------------------------

    def reserve(self, binding: Binding) -> None:
        """Take what `binding` names, or raise CapacityError and take nothing."""
        if binding.pod in self.bindings:
            raise CapacityError(f"pod {binding.pod} is already bound")
        self._check(binding)
        self._apply(binding, -1)
        self.bindings[binding.pod] = binding

    def release(self, pod: str) -> Binding:
        """Give back exactly what the pod's binding took; returns the binding."""
        binding = self.bindings.pop(pod, None)
        if binding is None:
            raise CapacityError(f"pod {pod} is not bound")
        self._apply(binding, +1)
        return binding

    def set_gpu_health(self, node: int, gpu: int, healthy: bool) -> None:
        """Mark a GPU healthy or not; an unhealthy GPU takes no new work."""
        if not self.gpu_present[node, gpu]:
            raise IndexError(f"node {self.nodes[node].name} has no GPU {gpu}")
        self.gpu_healthy[node, gpu] = healthy
        self._refresh(node)
        self.node_version[node] += 1
        self.changes += 1

    def reconfigure_mig(self, node: int, gpu: int, layout: MigLayout) -> MigReconfiguration:
        """Give an idle MIG GPU a new layout (dynamic MIG); refuses one in use or invalid."""
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
        self.mig_reconfigurations.append(event)
        self._refresh(node)
        self.node_version[node] += 1
        self.changes += 1
        return event

    def _check(self, b: Binding) -> None:
        i = b.node
        if not 0 <= i < len(self.nodes):
            raise CapacityError(f"no node with index {i}")
        name = self.nodes[i].name
        if b.cpu_milli < 0 or b.memory_mib < 0:
            raise CapacityError(f"pod {b.pod}: negative request")
        if b.cpu_milli > self.cpu_free[i] or b.memory_mib > self.mem_free[i]:
            raise CapacityError(f"pod {b.pod} does not fit on {name}: cpu or memory")
        if self.pods_free[i] < 1:
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
            if not (0 <= g < self.gpu_width and self.gpu_present[i, g]):
                raise CapacityError(f"pod {b.pod}: {name} has no GPU {g}")
            if m < 0 or x < 0:
                raise CapacityError(f"pod {b.pod}: negative GPU amount")
            if b.devices:
                device = self.device_index[i].get(b.devices[k])
                if device is None or device.gpu != g:
                    raise CapacityError(f"pod {b.pod}: {name} has no device {b.devices[k]}")
                if device.id in self.device_users[i]:
                    raise CapacityError(f"pod {b.pod}: device {device.id} of {name} is in use")
                if not self.gpu_healthy[i, g]:
                    raise CapacityError(f"pod {b.pod}: GPU {g} of {name} is unhealthy")
            milli[g] = milli.get(g, 0) + m
            mem[g] = mem.get(g, 0) + x
        for g in milli:
            if milli[g] > self.gpu_free_milli[i, g] or mem[g] > self.gpu_free_mem[i, g]:
                raise CapacityError(f"pod {b.pod}: GPU {g} of {name} lacks room")
        for res, amount in b.extended.items():
            col = self.ext_col.get(res)
            if res in self.device_backed[i] and amount:
                raise CapacityError(f"pod {b.pod}: {res} on {name} is taken by device")
            if amount < 0 or (amount > 0 and (col is None or amount > self.ext_free[i, col])):
                raise CapacityError(f"pod {b.pod}: {name} lacks {res}")

    def _apply(self, b: Binding, sign: int) -> None:
        i = b.node
        self.node_version[i] += 1
        self.changes += 1
        self.cpu_free[i] += sign * b.cpu_milli
        self.mem_free[i] += sign * b.memory_mib
        self.pods_free[i] += sign
        if b.gpus:
            idx = np.asarray(b.gpus)
            # add.at, not +=: two replicas of one GPU in one binding must both count.
            np.add.at(self.gpu_free_milli[i], idx, sign * np.asarray(b.gpu_milli, dtype=np.int64))
            np.add.at(self.gpu_free_mem[i], idx, sign * np.asarray(b.gpu_memory_mib, np.int64))
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

    # -- checking --------------------------------------------------------------------------

    def check_invariants(self) -> None:
        """Raise AssertionError if any free amount left its bounds or bindings disagree with it."""
        assert (self.cpu_free >= 0).all() and (self.cpu_free <= self.cpu_alloc).all()
        assert (self.mem_free >= 0).all() and (self.mem_free <= self.mem_alloc).all()
        assert (self.pods_free >= 0).all() and (self.pods_free <= self.pods_alloc).all()
        assert (self.gpu_free_milli >= 0).all() and (self.gpu_free_milli <= 1000).all()
        assert (self.gpu_free_mem >= 0).all() and (self.gpu_free_mem <= self.gpu_mem_total).all()
        assert not self.gpu_free_milli[~self.gpu_present].any()
        assert (self.ext_free >= 0).all() and (self.ext_free <= self.ext_alloc).all()
        used_cpu = np.zeros_like(self.cpu_free)
        used_milli = np.zeros_like(self.gpu_free_milli)
        used_mem = np.zeros_like(self.gpu_free_mem)
        users: list[dict[str, str]] = [{} for _ in self.nodes]
        for b in self.bindings.values():
            used_cpu[b.node] += b.cpu_milli
            for g, milli, mem in zip(b.gpus, b.gpu_milli, b.gpu_memory_mib, strict=True):
                used_milli[b.node, g] += milli
                used_mem[b.node, g] += mem
            for device in b.devices:
                assert device not in users[b.node], f"device {device} double-booked"
                users[b.node][device] = b.pod
        assert (self.cpu_alloc - self.cpu_free == used_cpu).all()
        assert (np.where(self.gpu_present, 1000, 0) - self.gpu_free_milli == used_milli).all()
        assert (self.gpu_mem_total - self.gpu_free_mem == used_mem).all()
        assert users == self.device_users
        for i in range(len(self.nodes)):
            healthy = self.gpu_healthy[i]
            assert self.gpu_free_node[i] == self.gpu_free_milli[i][healthy].sum()
            assert self.gpu_idle_count[i] == np.count_nonzero(self._idle_row(i))
            model = self.models[i]
            for gpu, layout in self.mig_layouts[i].items():
                assert model is not None and valid_layout(model, layout), (i, gpu, layout)
            for name in self.device_backed[i]:
                free = sum(
                    1 for d in self.devices[i] if d.resource == name and self.available(i, d)
                )
                assert self.ext_free[i, self.ext_col[name]] == free, (i, name)


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


def binding_for(
    pod: Pod,
    node: int,
    gpus: Iterable[tuple[int, int, int]] = (),
    extended: Mapping[str, int] | None = None,
    devices: Sequence[str] = (),
) -> Binding:
    """A Binding of `pod` to `node`, taking (gpu index, milli, memory MiB) triples.

    `extended` defaults to the pod's own extended resources.
    """
    triples = tuple(gpus)
    return Binding(
        pod=pod.key,
        node=node,
        cpu_milli=pod.cpu_milli,
        memory_mib=pod.memory_mib,
        gpus=tuple(t[0] for t in triples),
        gpu_milli=tuple(t[1] for t in triples),
        gpu_memory_mib=tuple(t[2] for t in triples),
        devices=tuple(devices),
        extended=dict(pod.extended if extended is None else extended),
    )
