"""FGD's fragmentation measure: how much of a node's free GPU the expected tasks could not use.

The definitions follow the ATC '23 paper "Beware of Fragmentation" (FGD) and its public
simulator, restated here in our own words:

* A task *shape* is what placement sees of a task: its CPU request, its GPU share per GPU
  (milli-GPU; 1000 for whole GPUs, 0 for none), its number of GPUs, and where it may run (its
  nodeSelector and required node affinity, which is how a GPU-model constraint reaches us).
  Memory is not part of a shape.
* The *target workload* M is a distribution over shapes, estimated from a list of tasks.
  Shapes are ranked by how many tasks have them; among equally popular shapes the larger comes
  first (CPU, then GPU share, then GPU count, then the constraint). Shapes are kept from the
  most popular down until they cover at least 95% of the tasks, and their frequencies are
  renormalised to sum to 1. CPU-only tasks count like any other.
* F_n(m), the fragmentation of node n for shape m, in milli-GPU. Let T be the node's free GPU:
  the sum of the free shares of its healthy GPUs.
  - m asks for no GPU share: all of T (such a task can never use it);
  - m may not run on n: all of T;
  - m does not fit on n (too little free CPU, or fewer than its GPU count of GPUs that each
    have its share free): all of T;
  - m fits: only the free share of the GPUs that have less free than m's share, the slivers
    m could never use.
* F_n(M) = sum over m of p_m * F_n(m): the free GPU of n that a task drawn from M could not use.
  The cluster's F(M) is the sum over nodes. The *fragmentation amount* reported by the replay
  is F(M) over the cluster's GPU capacity, the *fragmentation ratio* F(M) over its free GPU.

Per-shape values are integers (milli-GPU), so a difference of two states is exact before it
is weighted. Every function broadcasts over leading dimensions, so that FGD can evaluate all
candidate GPUs of many nodes in one expression. Requests the model does not know (MIG
instances, time-slicing replicas) count as asking for no GPU share.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache

import numpy as np
import numpy.typing as npt

from gpuplane.cluster.state import BoolArray, ClusterState, IntArray
from gpuplane.objects.gpu_request import GpuKind, GpuRequest
from gpuplane.objects.node import Node
from gpuplane.objects.pod import Pod
from gpuplane.objects.scheduling import NodeAffinity

FloatArray = npt.NDArray[np.float64]

#: Share of tasks the target workload's shapes must cover (the paper's 95%).
DEFAULT_COVERAGE = 0.95


@dataclass(frozen=True)
class Shape:
    """A task as fragmentation sees it: CPU, GPU share per GPU, GPU count, where it may run."""

    cpu_milli: int
    gpu_milli: int
    gpu_count: int
    selector: tuple[tuple[str, str], ...] = ()
    affinity: NodeAffinity = field(default_factory=NodeAffinity)

    @property
    def constrained(self) -> bool:
        return bool(self.selector) or self.affinity.required is not None

    def allows(self, node: Node) -> bool:
        """Whether a task of this shape may run on `node` (its labels and name)."""
        labels = dict(node.labels)
        return all(labels.get(k) == v for k, v in self.selector) and self.affinity.matches(
            node.name, labels
        )

    def rank_key(self) -> tuple[int, int, int, str]:
        """Orders equally popular shapes: larger CPU, share, count first; then the constraint."""
        return (self.cpu_milli, self.gpu_milli, self.gpu_count, self.constraint_text())

    def constraint_text(self) -> str:
        if not self.constrained:
            return ""
        values = sorted(
            v
            for term in self.affinity.required or ()
            for req in term.match_expressions
            for v in req.values
        )
        return "|".join([f"{k}={v}" for k, v in self.selector] + values)


@cache
def gpu_share(request: GpuRequest) -> tuple[int, int]:
    """(share per GPU in milli-GPU, GPU count): whole GPUs are 1000 each, fractions their share.

    MIG instances and shared replicas are outside the model and count as (0, 0).
    """
    if request.wants_gpu and request.kind is GpuKind.WHOLE:
        return 1000, request.count
    if request.wants_gpu and request.kind is GpuKind.FRACTION:
        return request.milli, request.count
    return 0, 0


def shape_of(pod: Pod) -> Shape:
    """The shape of a pod: its CPU, its GPU share and count, and where it may run."""
    milli, count = gpu_share(pod.gpu)
    return Shape(
        cpu_milli=pod.cpu_milli,
        gpu_milli=milli,
        gpu_count=count,
        selector=tuple(sorted(pod.node_selector.items())),
        affinity=NodeAffinity(required=pod.affinity.required),
    )


class TargetWorkload:
    """The distribution M of task shapes that fragmentation is measured against."""

    def __init__(self, shapes: tuple[Shape, ...], weights: tuple[float, ...]) -> None:
        if len(shapes) != len(weights):
            raise ValueError("one weight per shape")
        self.shapes = shapes
        self.weights = weights
        k = len(shapes)
        self.cpu: IntArray = np.array([s.cpu_milli for s in shapes], dtype=np.int64).reshape(k)
        self.milli: IntArray = np.array([s.gpu_milli for s in shapes], dtype=np.int64).reshape(k)
        self.count: IntArray = np.array([s.gpu_count for s in shapes], dtype=np.int64).reshape(k)
        self.p: FloatArray = np.array(weights, dtype=np.float64).reshape(k)
        #: Shapes that ask for a GPU share; the others find every free GPU fragmented.
        self.wants_gpu: BoolArray = (self.milli > 0) & (self.count > 0)

    def __len__(self) -> int:
        return len(self.shapes)

    def allowed(self, nodes: Iterable[Node]) -> BoolArray:
        """(shapes, nodes): where each shape may run."""
        node_list = list(nodes)
        out = np.ones((len(self.shapes), len(node_list)), dtype=np.bool_)
        verdicts: dict[Shape, list[bool]] = {}
        for k, shape in enumerate(self.shapes):
            if not shape.constrained:
                continue
            key = Shape(0, 0, 0, shape.selector, shape.affinity)  # only the constraint matters
            if key not in verdicts:
                verdicts[key] = [shape.allows(n) for n in node_list]
            out[k] = verdicts[key]
        return out


def target_workload(shapes: Iterable[Shape], coverage: float = DEFAULT_COVERAGE) -> TargetWorkload:
    """M from the shapes of a task list: the most popular shapes covering `coverage` of tasks."""
    counts = Counter(shapes)
    total = sum(counts.values())
    ranked = sorted(counts.items(), key=lambda kv: (kv[1], kv[0].rank_key()), reverse=True)
    kept: list[tuple[Shape, int]] = []
    covered = 0
    for shape, n in ranked:
        if covered >= coverage * total:
            break
        kept.append((shape, n))
        covered += n
    return TargetWorkload(
        tuple(s for s, _ in kept), tuple(n / covered for _, n in kept) if covered else ()
    )


def free_gpu(state: ClusterState, nodes: IntArray | slice = slice(None)) -> IntArray:
    """Free milli-GPU per GPU slot of `nodes`; unhealthy and absent GPUs offer nothing."""
    free: IntArray = np.where(state.gpu_healthy[nodes], state.gpu_free_milli[nodes], 0)
    return free


def gpu_tallies(free: IntArray, milli: IntArray) -> tuple[IntArray, IntArray]:
    """Per share in `milli`: how many GPUs have at least that much free, and their free sum.

    `free` is (..., GPUs) and `milli` is (shapes,); both results are (..., shapes).
    """
    enough = free[..., :, None] >= milli
    count: IntArray = enough.sum(axis=-2)
    total: IntArray = (free[..., :, None] * enough).sum(axis=-2)
    return count, total


def frag_per_shape(
    workload: TargetWorkload,
    count_ge: IntArray,
    sum_ge: IntArray,
    total: IntArray,
    cpu_free: IntArray,
    allowed: BoolArray,
) -> IntArray:
    """F_n(m) in milli-GPU, shape by shape, from a node's GPU tallies and free CPU.

    `count_ge`, `sum_ge` and `allowed` are (..., shapes); `total` and `cpu_free` are (...).
    """
    w = workload
    fits = allowed & (cpu_free[..., None] >= w.cpu) & (count_ge >= w.count) & w.wants_gpu
    out: IntArray = np.where(fits, total[..., None] - sum_ge, total[..., None])
    return out


class FragmentationMeter:
    """F_n(M) for every node of one ClusterState, recomputed only for nodes that changed.

    The per-node tallies it keeps (`count_ge`, `sum_ge`, `total`, `per_shape`) are what FGD
    starts from when it evaluates a placement.
    """

    def __init__(self, workload: TargetWorkload, state: ClusterState) -> None:
        self.workload = workload
        self.state = state
        n, k = len(state), len(workload)
        self.allowed: BoolArray = workload.allowed(state.nodes).T.reshape(n, k)
        self.version: IntArray = np.full(n, -1, dtype=np.int64)
        self.count_ge: IntArray = np.zeros((n, k), dtype=np.int64)
        self.sum_ge: IntArray = np.zeros((n, k), dtype=np.int64)
        self.total: IntArray = np.zeros(n, dtype=np.int64)
        self.per_shape: IntArray = np.zeros((n, k), dtype=np.int64)
        self.per_node: FloatArray = np.zeros(n, dtype=np.float64)
        self.refresh()

    def refresh(self) -> IntArray:
        """Recompute the nodes whose version moved; returns their indices."""
        state = self.state
        changed = np.flatnonzero(state.node_version != self.version)
        if changed.size:
            free = free_gpu(state, changed)
            count_ge, sum_ge = gpu_tallies(free, self.workload.milli)
            total = free.sum(axis=1)
            per_shape = frag_per_shape(
                self.workload,
                count_ge,
                sum_ge,
                total,
                state.cpu_free[changed],
                self.allowed[changed],
            )
            self.count_ge[changed] = count_ge
            self.sum_ge[changed] = sum_ge
            self.total[changed] = total
            self.per_shape[changed] = per_shape
            self.per_node[changed] = per_shape @ self.workload.p
            self.version[changed] = state.node_version[changed]
        return changed

    def amount(self) -> float:
        """F(M): the cluster's fragmented GPU, in milli-GPU."""
        self.refresh()
        return float(self.per_node.sum())

    def ratio(self) -> float:
        """F(M) as a share of the cluster's free GPU (0 when nothing is free)."""
        self.refresh()
        idle = float(self.total.sum()) * float(self.workload.p.sum())
        return float(self.per_node.sum()) / idle if idle > 0 else 0.0
