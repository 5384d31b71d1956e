"""ClusterState: nodes and their GPUs as numpy struct-of-arrays, with exact reserve and release.

Node resources are 1-D arrays indexed by node; GPU resources are 2-D arrays indexed by
(node, GPU index on that node), padded to the widest node so that per-GPU checks over the
whole cluster are single numpy expressions. A padded slot is marked absent in `gpu_present`
and holds no free capacity, so it can never be chosen.

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

from gpuplane.objects.node import Node
from gpuplane.objects.pod import Pod

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


class CapacityError(RuntimeError):
    """A reserve that would over-allocate, or a release of something never reserved.

    This is a bug in the caller (the placement engine checks fit first), not bad user input.
    """


@dataclass(frozen=True)
class Binding:
    """What one pod holds on one node: the exact amounts, so release can undo them."""

    pod: str  # namespace/name
    node: int
    cpu_milli: int
    memory_mib: int
    #: GPU indices on the node, and per index the compute (milli-GPU) and memory (MiB) taken.
    gpus: tuple[int, ...] = ()
    gpu_milli: tuple[int, ...] = ()
    gpu_memory_mib: tuple[int, ...] = ()
    extended: Mapping[str, int] = field(default_factory=dict)


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
        self.gpu_mem_total: IntArray = np.where(
            self.gpu_present,
            np.array([x.gpu_memory_mib for x in nodes], dtype=np.int64)[:, None],
            0,
        ).reshape(n, width)
        self.gpu_healthy: BoolArray = self.gpu_present.copy()
        self.gpu_free_milli: IntArray = np.where(self.gpu_present, 1000, 0).astype(np.int64)
        self.gpu_free_mem: IntArray = self.gpu_mem_total.copy()
        # Per-node summaries kept up to date on every change, so that whole-GPU fit and GPU
        # scoring are 1-D expressions instead of scans of the (nodes, slots) arrays.
        self.gpu_free_node: IntArray = np.zeros(n, dtype=np.int64)
        self.gpu_idle_count: IntArray = np.zeros(n, dtype=np.int64)
        for i in range(n):
            self._summarize(i)

        # Other extended resources (MIG profiles a Node advertises, RDMA, ...): a column each.
        self.ext_names: tuple[str, ...] = tuple(sorted({k for x in nodes for k in x.extended}))
        self.ext_col: dict[str, int] = {name: i for i, name in enumerate(self.ext_names)}
        self.ext_alloc: IntArray = np.zeros((n, len(self.ext_names)), dtype=np.int64)
        for i, node in enumerate(nodes):
            for name, amount in node.extended.items():
                self.ext_alloc[i, self.ext_col[name]] = amount
        self.ext_free = self.ext_alloc.copy()

        self.bindings: dict[str, Binding] = {}
        #: Bumped whenever nodes, their labels or taints change; caches of node masks key on it.
        self.generation = 0
        #: Bumped per node on every reserve, release or health change of that node, so that
        #: score plugins can cache per-node work and redo it only where something changed.
        self.node_version: IntArray = np.zeros(n, dtype=np.int64)

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

    def idle_gpus(self, node: int) -> IntArray:
        """Indices of the node's healthy GPUs with nothing on them, ascending."""
        return np.flatnonzero(self._idle_row(node))

    def _idle_row(self, i: int) -> BoolArray:
        idle: BoolArray = (
            self.gpu_healthy[i]
            & (self.gpu_free_milli[i] == 1000)
            & (self.gpu_free_mem[i] == self.gpu_mem_total[i])
        )
        return idle

    def _summarize(self, i: int) -> None:
        healthy = self.gpu_healthy[i]
        self.gpu_free_node[i] = int(self.gpu_free_milli[i][healthy].sum())
        self.gpu_idle_count[i] = int(np.count_nonzero(self._idle_row(i)))

    def allocated_gpu_milli(self) -> int:
        return int(1000 * self.gpu_count.sum() - self.gpu_free_milli[self.gpu_present].sum())

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
        self._summarize(node)
        self.node_version[node] += 1

    def _check(self, b: Binding) -> None:
        i = b.node
        if not 0 <= i < len(self.nodes):
            raise CapacityError(f"no node with index {i}")
        name = self.nodes[i].name
        if (
            b.cpu_milli > self.cpu_free[i]
            or b.memory_mib > self.mem_free[i]
            or self.pods_free[i] < 1
        ):
            raise CapacityError(f"pod {b.pod} does not fit on {name}: cpu, memory or pods")
        if not (len(b.gpus) == len(b.gpu_milli) == len(b.gpu_memory_mib)):
            raise CapacityError(f"pod {b.pod}: malformed GPU binding")
        if len(set(b.gpus)) != len(b.gpus):
            raise CapacityError(f"pod {b.pod}: a GPU is named twice")
        for g, milli, mem in zip(b.gpus, b.gpu_milli, b.gpu_memory_mib, strict=True):
            if not (0 <= g < self.gpu_width and self.gpu_present[i, g]):
                raise CapacityError(f"pod {b.pod}: {name} has no GPU {g}")
            if milli < 0 or mem < 0:
                raise CapacityError(f"pod {b.pod}: negative GPU amount")
            if milli > self.gpu_free_milli[i, g] or mem > self.gpu_free_mem[i, g]:
                raise CapacityError(f"pod {b.pod}: GPU {g} of {name} lacks room")
        for res, amount in b.extended.items():
            col = self.ext_col.get(res)
            if amount < 0 or (amount > 0 and (col is None or amount > self.ext_free[i, col])):
                raise CapacityError(f"pod {b.pod}: {name} lacks {res}")
        if b.cpu_milli < 0 or b.memory_mib < 0:
            raise CapacityError(f"pod {b.pod}: negative request")

    def _apply(self, b: Binding, sign: int) -> None:
        i = b.node
        self.node_version[i] += 1
        self.cpu_free[i] += sign * b.cpu_milli
        self.mem_free[i] += sign * b.memory_mib
        self.pods_free[i] += sign
        if b.gpus:
            idx = np.asarray(b.gpus)
            self.gpu_free_milli[i, idx] += sign * np.asarray(b.gpu_milli, dtype=np.int64)
            self.gpu_free_mem[i, idx] += sign * np.asarray(b.gpu_memory_mib, dtype=np.int64)
            self._summarize(i)
        for res, amount in b.extended.items():
            if amount:
                self.ext_free[i, self.ext_col[res]] += sign * amount

    # -- checking --------------------------------------------------------------------------

    def check_invariants(self) -> None:
        """Raise AssertionError if any free amount left its bounds or bindings disagree with it."""
        assert (self.cpu_free >= 0).all() and (self.cpu_free <= self.cpu_alloc).all()
        assert (self.mem_free >= 0).all() and (self.mem_free <= self.mem_alloc).all()
        assert (self.pods_free >= 0).all() and (self.pods_free <= self.pods_alloc).all()
        assert (self.gpu_free_milli >= 0).all() and (self.gpu_free_milli <= 1000).all()
        assert (self.gpu_free_mem >= 0).all() and (self.gpu_free_mem <= self.gpu_mem_total).all()
        assert not self.gpu_free_milli[~self.gpu_present].any()
        for i in range(len(self.nodes)):
            healthy = self.gpu_healthy[i]
            assert self.gpu_free_node[i] == self.gpu_free_milli[i][healthy].sum()
            assert self.gpu_idle_count[i] == np.count_nonzero(self._idle_row(i))
        assert (self.ext_free >= 0).all() and (self.ext_free <= self.ext_alloc).all()
        used_cpu = np.zeros_like(self.cpu_free)
        used_milli = np.zeros_like(self.gpu_free_milli)
        for b in self.bindings.values():
            used_cpu[b.node] += b.cpu_milli
            for g, milli in zip(b.gpus, b.gpu_milli, strict=True):
                used_milli[b.node, g] += milli
        assert (self.cpu_alloc - self.cpu_free == used_cpu).all()
        assert (np.where(self.gpu_present, 1000, 0) - self.gpu_free_milli == used_milli).all()

    def pods_on(self, node: int) -> list[Binding]:
        return [b for b in self.bindings.values() if b.node == node]


def binding_for(
    pod: Pod,
    node: int,
    gpus: Iterable[tuple[int, int, int]] = (),
    extended: Mapping[str, int] | None = None,
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
        extended=dict(pod.extended if extended is None else extended),
    )
