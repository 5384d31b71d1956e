"""One scheduling cycle per pod: filter every node, score the feasible ones, pick, assign devices.

The cycle is pure: `schedule` decides and changes nothing; `place` also reserves the decision in
the ClusterState. Ties between equal scores go to the node that comes first in cluster order
(kube-scheduler picks at random among ties; a fixed rule keeps runs reproducible; the FGD
artifact's scheduler does the same with randomly renamed nodes, which a replay reproduces by
permuting the node list). Every node is scored unless the profile or the scheduler sets
percentageOfNodesToScore below 100 (see `sampling`). Devices are chosen by the profile's device
plugin when it has one and it answers, else by GpuFit. Plugins that choose at random draw from
the scheduler's seeded generator.

Filters and scores that depend only on a node's own state and the pod's shape are answered from
a per-node cache and redone only for nodes that changed (`score_cache`); `incremental=False`
runs every plugin on every node instead, with the same placements bit for bit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from gpuplane.cluster.binding import MigReconfiguration, binding_for
from gpuplane.cluster.state import BoolArray, ClusterState, IntArray
from gpuplane.objects.pod import Pod
from gpuplane.placement.assign import pick_devices
from gpuplane.placement.filters import NodeResourcesFitFilter
from gpuplane.placement.filters.node_resources_fit import native_taken
from gpuplane.placement.fragmentation import TargetWorkload
from gpuplane.placement.framework import (
    Cycle,
    NodeCache,
    PreFilterPlugin,
    UniformScore,
    depends,
    fit_error,
    pod_constraints,
)
from gpuplane.placement.gpu_fit import GpuFit
from gpuplane.placement.profiles import DEFAULT_PROFILE, Profile, profile
from gpuplane.placement.sampling import (
    ALL_NODES,
    check_percentage,
    num_feasible_nodes_to_find,
    sample,
    scan,
)
from gpuplane.placement.score_cache import ScoreCache


@dataclass(frozen=True)
class Placement:
    """Pod P goes to node N, on these GPUs with these shares."""

    pod: Pod
    node: str
    node_index: int
    gpus: tuple[int, ...] = ()
    gpu_milli: tuple[int, ...] = ()
    gpu_memory_mib: tuple[int, ...] = ()
    #: Advertised devices taken (replicas, MIG instances, ...), parallel to `gpus`.
    devices: tuple[str, ...] = ()
    #: Extended resources taken as plain counts (not backed by devices).
    extended: dict[str, int] = field(default_factory=dict)
    #: MIG layouts to apply first (dynamic MIG), as (GPU index, ((profile, start), ...)).
    reconfigure: tuple[tuple[int, tuple[tuple[str, int], ...]], ...] = ()
    #: Things the user should know about this placement (e.g. replicas sharing one GPU).
    notes: tuple[str, ...] = ()
    score: int = 0


@dataclass(frozen=True)
class Unschedulable:
    """No node can take the pod now; `message` is kube-scheduler's FitError text."""

    pod: Pod
    message: str
    reasons: dict[str, int]


Decision = Placement | Unschedulable


class Scheduler:
    """Runs scheduling cycles over one ClusterState with one profile."""

    def __init__(
        self,
        state: ClusterState,
        profile_: Profile | str = DEFAULT_PROFILE,
        *,
        rng: np.random.Generator | None = None,
        workload: TargetWorkload | None = None,
        percentage_of_nodes_to_score: int = ALL_NODES,
        incremental: bool = True,
    ) -> None:
        self.state = state
        self.profile = profile(profile_) if isinstance(profile_, str) else profile_
        #: kube-scheduler's global percentageOfNodesToScore; a profile's own value wins.
        self.percentage_of_nodes_to_score = check_percentage(percentage_of_nodes_to_score)
        #: Where the next cycle starts looking when not every node is scored (round robin).
        self.next_start_node_index = 0
        self.incremental = incremental
        filters, scores = self.profile.filters, self.profile.scores
        self._node_filters = [f for f in filters if incremental and depends(f) == "node"]
        self._fixed_filters = [f for f in filters if incremental and depends(f) == "constraints"]
        self._cycle_filters = [
            f for f in filters if f not in self._node_filters and f not in self._fixed_filters
        ]
        self._node_scores = [(p, w) for p, w in scores if incremental and depends(p) == "node"]
        self._cycle_scores = [(p, w) for p, w in scores if (p, w) not in self._node_scores]
        self._answers = ScoreCache(self._node_filters, self._node_scores)
        # Protocol checks are slow (typing inspects the class each time): decide them once.
        self._prefilters = [f for f in filters if isinstance(f, PreFilterPlugin)]
        self._uniform = [isinstance(p, UniformScore) and incremental for p, _ in self._cycle_scores]
        self.cache = NodeCache()
        #: GpuFit's per-node values kept across cycles (keyed by node version inside).
        self.gpu_memo: dict[str, tuple[IntArray, IntArray]] = {}
        #: Plugins that choose at random draw from it (see Cycle.rng).
        self.rng = rng
        #: The workload the cluster expects, for workload-aware scores (FGD).
        self.workload = workload
        #: Pod key -> the MIG reshapes its bind made, so that `unbind` can take them back.
        self._reshaped: dict[str, list[MigReconfiguration]] = {}

    def eligible(self, pod: Pod) -> BoolArray:
        """Nodes the pod could ever run on, whatever is running now (all but resource fit).

        Taints, selectors, affinity and cordons only change with the nodes themselves, so the
        answer holds until then; the admission engine uses it to see whether two workloads
        compete for the same nodes.
        """
        cycle = Cycle(pod=pod, state=self.state, cache=self.cache, gpu=GpuFit(pod.gpu, self.state))
        ok = np.ones(len(self.state), dtype=np.bool_)
        for plugin in self.profile.filters:
            if isinstance(plugin, NodeResourcesFitFilter):
                continue
            for _, mask in plugin.filter(cycle):
                ok &= ~mask
        return ok

    def _cycle(self, pod: Pod) -> Cycle:
        """A scheduling cycle for `pod` on the state as it is now."""
        gpu = GpuFit(pod.gpu, self.state, memo=self.gpu_memo)
        return Cycle(
            pod=pod, state=self.state, cache=self.cache, gpu=gpu, rng=self.rng,
            workload=self.workload,
        )

    def feasible(self, pod: Pod) -> BoolArray:
        """Nodes that pass every filter for `pod` now: those `schedule` would choose among."""
        state = self.state
        cycle = self._cycle(pod)
        absent, rejection = _prefilter(cycle, self._prefilters)
        if rejection is not None:
            return np.zeros(len(state), dtype=np.bool_)
        if self.incremental:
            failed = self._answers.lookup(cycle, scores=False).failed | self._fixed_failures(cycle)
        else:
            failed = np.zeros(len(state), dtype=np.bool_)
        for plugin in self._cycle_filters:
            for _, mask in plugin.filter(cycle):
                failed |= mask
        if absent is not None:
            failed |= absent[1]
        ok: BoolArray = ~failed
        return ok

    def schedule(self, pod: Pod) -> Decision:
        """Decide where `pod` goes, without changing the state."""
        state = self.state
        cycle = self._cycle(pod)
        absent, rejection = _prefilter(cycle, self._prefilters)
        if rejection is not None:
            reasons = {rejection: len(state)}
            return Unschedulable(pod, fit_error(len(state), reasons, prefilter=rejection), reasons)
        percentage = self.profile.percentage_of_nodes_to_score
        if percentage is None:
            percentage = self.percentage_of_nodes_to_score
        wanted = num_feasible_nodes_to_find(percentage, len(state))
        if wanted < len(state) and absent is None and self.incremental:
            picked = self._windowed(cycle, wanted)
            if picked is not None:
                return self._placement(cycle, *picked)
        entry = self._answers.lookup(cycle) if self.incremental else None
        results = [plugin.filter(cycle) for plugin in self._cycle_filters]
        if absent is not None:
            # Nodes a PreFilter left out count under its reason, before any filter's.
            results.insert(0, [absent])
        if entry is None:
            failed = np.zeros(len(state), dtype=np.bool_)
        else:
            failed = entry.failed | self._fixed_failures(cycle)
        for failures in results:
            for _, mask in failures:
                failed |= mask
        if failed.all():
            if entry is not None:
                # The reasons in filter order, as the plain path counts them.
                results = [plugin.filter(cycle) for plugin in self.profile.filters]
                if absent is not None:
                    results.insert(0, [absent])
            histogram = _histogram(len(state), results)
            return Unschedulable(pod, fit_error(len(state), histogram), histogram)
        feasible = ~failed
        if wanted < len(state):
            feasible, self.next_start_node_index = sample(
                feasible, wanted, self.next_start_node_index
            )
            failed = ~feasible
        cycle.feasible = feasible
        total = np.zeros(len(state), dtype=np.int64) if entry is None else entry.score.copy()
        offset = 0
        for (plugin, weight), uniform in zip(self._cycle_scores, self._uniform, strict=True):
            same = plugin.uniform(cycle) if uniform else None  # type: ignore[attr-defined]
            if same is not None:
                offset += weight * same
            else:
                total += weight * plugin.score(cycle)
        if offset:
            total += offset
        np.copyto(total, -1, where=failed)
        # argmax returns the first maximum: cluster order breaks ties.
        node = int(np.argmax(total))
        return self._placement(cycle, node, int(total[node]))

    def _windowed(self, cycle: Cycle, wanted: int) -> tuple[int, int] | None:
        """(node, score) looking only at the nodes the round-robin scan reaches, or None when
        that cannot be done: a plugin needs every node, or too few nodes are feasible."""
        if self._cycle_filters:
            return None
        offset = 0
        for (plugin, weight), uniform in zip(self._cycle_scores, self._uniform, strict=True):
            same = plugin.uniform(cycle) if uniform else None  # type: ignore[attr-defined]
            if same is None:
                return None
            offset += weight * same
        entry = self._answers.lookup(cycle, refresh=False)
        fixed = self._fixed_failures(cycle)

        def feasible_of(start: int, end: int) -> BoolArray:
            self._answers.refresh_rows(cycle, entry, start, end)
            ok: BoolArray = ~(entry.failed[start:end] | fixed[start:end])
            return ok

        found = scan(feasible_of, len(self.state), wanted, self.next_start_node_index)
        if found is None:
            return None
        taken, self.next_start_node_index = found
        taken = np.sort(taken)
        scores = entry.score[taken]
        # The first maximum in cluster order, as argmax over every node gives.
        best = int(np.argmax(scores))
        return int(taken[best]), int(scores[best]) + offset

    def _placement(self, cycle: Cycle, node: int, score: int) -> Placement:
        """The decision for `node`: the devices the pod gets there, and its other resources."""
        pod, state = cycle.pod, cycle.state
        chosen = self.profile.devices.assign(cycle, node) if self.profile.devices else None
        assignment = chosen if chosen is not None else cycle.gpu.assign(node)
        # Other extended resources that this node backs with devices (a renamed replica, a
        # vGPU type) get devices too; the rest are plain counts.
        plain = {}
        for resource, count in pod.extended.items():
            if resource in state.device_backed[node]:
                assignment = assignment + pick_devices(state, node, resource, count)
            else:
                plain[resource] = count
        # Native resources (ephemeral-storage, ...) the node accounts for are plain counts too.
        plain.update(native_taken(cycle, node))
        return Placement(
            pod=pod,
            node=state.nodes[node].name,
            node_index=node,
            gpus=assignment.gpus,
            gpu_milli=assignment.milli,
            gpu_memory_mib=assignment.memory_mib,
            devices=assignment.devices,
            extended=plain,
            reconfigure=assignment.reconfigure,
            notes=assignment.notes,
            score=score,
        )

    def _fixed_failures(self, cycle: Cycle) -> BoolArray:
        """Nodes failing the "constraints" filters, kept per pod constraints until nodes change."""
        key = ("fixed-filters", pod_constraints(cycle.pod))
        failed: BoolArray | None = self.cache.get(self.state, key)
        if failed is None:
            failed = np.zeros(len(self.state), dtype=np.bool_)
            for plugin in self._fixed_filters:
                for _, mask in plugin.filter(cycle):
                    failed |= mask
            self.cache.put(key, failed)
        return failed

    def bind(self, placement: Placement) -> None:
        """Reserve a placement in the state (the 'assume' step of kube-scheduler)."""
        reshaped = [
            self.state.reconfigure_mig(placement.node_index, gpu, layout)
            for gpu, layout in placement.reconfigure
        ]
        shares = zip(placement.gpus, placement.gpu_milli, placement.gpu_memory_mib, strict=True)
        self.state.reserve(
            binding_for(
                placement.pod,
                placement.node_index,
                shares,
                extended=placement.extended,
                devices=placement.devices,
            )
        )
        self._reshaped.pop(placement.pod.key, None)
        if reshaped:
            self._reshaped[placement.pod.key] = reshaped

    def unbind(self, placement: Placement) -> None:
        """Undo `bind` exactly (kube-scheduler's 'forget'): release the pod and give any GPU
        it reshaped its old MIG layout back, striking that reshape from the log.

        Raises CapacityError when the pod is not bound, or a reshaped GPU is in use since.
        """
        self.state.release(placement.pod.key)
        for event in reversed(self._reshaped.pop(placement.pod.key, [])):
            self.state.reconfigure_mig(placement.node_index, event.gpu, event.before, event)

    def place(self, pod: Pod) -> Decision:
        """Schedule and, when a node was found, reserve it."""
        decision = self.schedule(pod)
        if isinstance(decision, Placement):
            self.bind(decision)
        return decision


def _prefilter(
    cycle: Cycle, filters: Sequence[PreFilterPlugin]
) -> tuple[tuple[str, BoolArray] | None, str | None]:
    """Run the PreFilter steps: (nodes left out and their reason, or None; a rejection, or None).

    As kube-scheduler: the answers intersect; a plugin's rejection, or an empty intersection,
    rejects the pod; nodes outside a non-empty intersection are counted under
    "node(s) didn't satisfy plugin(s) [<plugins that narrowed>]".
    """
    keep: BoolArray | None = None
    narrowed: list[str] = []
    for plugin in filters:
        result = plugin.prefilter(cycle)
        if result.rejection is not None:
            return None, result.rejection
        if result.nodes is None:
            continue
        narrowed.append(plugin.name)
        keep = result.nodes if keep is None else keep & result.nodes
        if not keep.any() and len(narrowed) > 1:
            return None, f"node(s) didn't satisfy plugin(s) [{' '.join(narrowed)}] simultaneously"
    if keep is None:
        return None, None
    return (f"node(s) didn't satisfy plugin(s) [{' '.join(sorted(narrowed))}]", ~keep), None


def _histogram(n: int, results: list[list[tuple[str, BoolArray]]]) -> dict[str, int]:
    """Reasons per node in filter order: a node counts only at the first plugin it fails."""
    histogram: dict[str, int] = {}
    earlier = np.zeros(n, dtype=np.bool_)
    for failures in results:
        here = np.zeros(n, dtype=np.bool_)
        for reason, mask in failures:
            fresh = mask & ~earlier
            count = int(np.count_nonzero(fresh))
            if count:
                histogram[reason] = histogram.get(reason, 0) + count
                here |= fresh
        earlier |= here
    return histogram
