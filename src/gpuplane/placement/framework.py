"""The scheduling framework's shapes: a per-cycle context and the filter and score interfaces.

It follows the kube-scheduler framework, vectorized: a filter plugin looks at every node at
once and returns, per failure reason, a mask of the nodes that fail for it; a score plugin
returns one integer score (0..100) per node. Plugins are small classes, one per file, so that a
new policy is a new file. A profile may also name a device plugin, which chooses the GPUs a pod
gets on its node when a policy has its own rule for that (FGD tries each GPU).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

from gpuplane.cluster.state import BoolArray, ClusterState, IntArray
from gpuplane.objects.pod import Pod
from gpuplane.placement.assign import Assignment
from gpuplane.placement.fragmentation import TargetWorkload
from gpuplane.placement.gpu_fit import GpuFit

MAX_NODE_SCORE = 100


@dataclass
class Cycle:
    """Everything one scheduling cycle of one pod knows; plugins share work through it."""

    pod: Pod
    state: ClusterState
    cache: NodeCache
    gpu: GpuFit
    #: Nodes that passed every filter (set before scoring).
    feasible: BoolArray | None = None
    #: The scheduler's seeded generator: every random choice a plugin makes draws from it.
    rng: np.random.Generator | None = None
    #: The workload the cluster expects (FGD's target workload); None when nobody said.
    workload: TargetWorkload | None = None
    #: Scratch space a plugin keeps between its steps of this cycle (kube's CycleState).
    data: dict[str, Any] = field(default_factory=dict)
    #: The nodes a per-node plugin (`depends = "node"`) answers for, in this order; None: all.
    rows: IntArray | None = None

    def index(self) -> IntArray | slice:
        """What to index per-node arrays with: the rows asked for, or every node."""
        return slice(None) if self.rows is None else self.rows

    def size(self) -> int:
        """How many nodes a per-node plugin answers for."""
        return len(self.state) if self.rows is None else len(self.rows)


#: What a plugin's answer for a node depends on. "node": only that node's state (its version)
#: and the pod's shape (`pod_shape`), so the scheduler may cache answers per node and ask
#: again only for nodes whose version changed, passing them in `Cycle.rows`. "constraints":
#: only what changes with the node list (`generation`: labels, taints, cordons) and the pod's
#: constraints (`pod_constraints`), so a filter's answer is kept until either changes.
#: "cycle": anything (other nodes, the feasible set, a generator): asked every cycle.
Depends = Literal["node", "constraints", "cycle"]


def depends(plugin: object) -> Depends:
    """A plugin's declared dependency; plugins that declare nothing are asked every cycle."""
    value = getattr(plugin, "depends", "cycle")
    if value == "node":
        return "node"
    return "constraints" if value == "constraints" else "cycle"


def pod_constraints(pod: Pod) -> tuple[Any, ...]:
    """What of a pod the "constraints" filters read: where it may run, not what it asks."""
    return (
        pod.tolerations,
        tuple(sorted(pod.node_selector.items())),
        pod.affinity,
        pod.node_name,
    )


def pod_shape(pod: Pod) -> tuple[Any, ...]:
    """What of a pod the per-node plugins read: its requests (not its name or constraints)."""
    return (
        pod.cpu_milli,
        pod.memory_request_bytes,
        pod.gpu,
        tuple(sorted(pod.extended.items())),
        tuple(sorted(pod.native.items())),
    )


class FilterPlugin(Protocol):
    """Says which nodes cannot run the pod, and why (kube-scheduler's reason strings)."""

    name: str

    def filter(self, cycle: Cycle) -> list[tuple[str, BoolArray]]:
        """(reason, mask of failing nodes) pairs; nodes in no mask pass."""
        ...


@dataclass(frozen=True)
class PreFilterResult:
    """A PreFilter step's answer: the only nodes worth filtering (None: every node), or a
    rejection of the pod as a whole (kube-scheduler's PreFilter status message)."""

    nodes: BoolArray | None = None
    rejection: str | None = None


@runtime_checkable
class PreFilterPlugin(Protocol):
    """A filter plugin that can narrow the nodes, or reject the pod, before any node is looked at.

    Nodes outside its answer are not filtered: kube-scheduler counts them under
    "node(s) didn't satisfy plugin(s) [<names>]" instead of a filter's reason.
    """

    name: str

    def prefilter(self, cycle: Cycle) -> PreFilterResult:
        """Which nodes to filter, or why no node can do."""
        ...


class ScorePlugin(Protocol):
    """Ranks feasible nodes; higher is better, 0..MAX_NODE_SCORE.

    A score covers every node (one numpy expression is cheaper than gathering the feasible
    ones); values at nodes outside `cycle.feasible` are ignored. A plugin whose per-node work
    is costly computes only where `cycle.feasible` is set.
    """

    name: str

    def score(self, cycle: Cycle) -> IntArray:
        """One score per node of the cluster."""
        ...


@runtime_checkable
class UniformScore(Protocol):
    """A score plugin that can tell, cheaply, when every feasible node gets the same score."""

    def uniform(self, cycle: Cycle) -> int | None:
        """The score every feasible node gets when it is the same for all, else None."""
        ...


class DevicePlugin(Protocol):
    """Chooses the devices or GPU shares a pod gets on the node the scores picked."""

    name: str

    def assign(self, cycle: Cycle, node: int) -> Assignment | None:
        """The pod's assignment on `node`, or None to keep the default (GpuFit.assign)."""
        ...


@dataclass
class NodeCache:
    """Answers that only change when nodes change (labels, taints), keyed by a pod's constraints.

    Pods of one Job share constraints, so their node masks are computed once. The cache is
    dropped whenever the set of nodes is rebuilt (`generation` changes).
    """

    generation: int = -1
    entries: dict[tuple[Any, ...], Any] = field(default_factory=dict)

    def get(self, state: ClusterState, key: tuple[Any, ...]) -> Any | None:
        if self.generation != state.generation:
            self.entries.clear()
            self.generation = state.generation
        return self.entries.get(key)

    def put(self, key: tuple[Any, ...], value: Any) -> None:
        self.entries[key] = value


def fit_error(total_nodes: int, histogram: dict[str, int], *, prefilter: str | None = None) -> str:
    """kube-scheduler's FitError text: `0/N nodes are available: <count> <reason>, ....`

    Reasons are formatted as "<count> <reason>" and sorted as strings, like kube-scheduler.
    A PreFilter rejection replaces the histogram with its own message (`0/N nodes are
    available: <message>.`), since upstream would only repeat it once per node.
    """
    text = f"0/{total_nodes} nodes are available:"
    if prefilter:
        return f"{text} {prefilter}."
    reasons = sorted(f"{count} {reason}" for reason, count in histogram.items())
    if reasons:
        text += " " + ", ".join(reasons) + "."
    return text
