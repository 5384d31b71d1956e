"""What a scenario read, and what in it may make the result wrong, found before anything runs.

The summary says what the files held (objects by kind, what was skipped and why) and where
the workloads go (workloads per queue). The warnings name what would give plausible but wrong
numbers with no error: a skipped object, a LocalQueue naming no ClusterQueue, workloads whose
queue resolves to nothing (never admitted), GPUs that no ClusterQueue's quota covers (never
used by queued work), workloads without a duration (they run until the horizon).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from gpuplane.catalog.resources import GPU
from gpuplane.errors import Location
from gpuplane.objects.node import Node
from gpuplane.objects.read_gpu import is_gpu_resource
from gpuplane.objects.reader import Manifests
from gpuplane.objects.summary import counted, read_summary
from gpuplane.queueing import QueueingConfig, Workload
from gpuplane.queueing.pending import admits_namespace
from gpuplane.sim.twin.spec import TwinSpec
from gpuplane.sim.twin.unmanaged import UNMANAGED

if TYPE_CHECKING:
    from gpuplane.sim.twin.load import VariantSetup

#: Workloads named in one warning before "and N more".
SHOWN = 5


class Findings:
    """The summary and warnings of one loaded scenario."""

    def __init__(
        self, file: str, base: TwinSpec, manifests: Manifests, setups: Sequence[VariantSetup]
    ) -> None:
        self.file = file
        self.base = base
        self.manifests = manifests
        self.setups = setups
        self.workloads: tuple[Workload, ...] = setups[0].workloads if setups else ()
        self.sources: dict[str, Location] = {
            **{f"{j.namespace}/{j.name}": j.source for j in manifests.jobs},
            **{p.key: p.source for p in manifests.pods},
            **{f"{g.namespace}/{g.name}": g.source for g in manifests.pod_groups},
        }

    def summary(self) -> tuple[str, ...]:
        # Those arriving after the horizon never run: counted, they would not match the table.
        arriving = [w for w in self.workloads if w.created <= self.base.horizon]
        by_queue = Counter(
            f"{w.namespace}/{w.queue}" if w.queue else "(no queue)" for w in arriving
        )
        line = f"{len(arriving):,} workloads"
        if by_queue:
            line += f" by LocalQueue: {counted(by_queue)}"
        return (*read_summary(self.manifests), line)

    def warnings(self) -> tuple[str, ...]:
        out = list(self.manifests.warnings)
        out += self._local_queues()
        by_variant: dict[str, list[str]] = {}
        for setup in self.setups:
            found = [*self._unresolved(setup), *self._uncovered(setup)]
            for message in found:
                by_variant.setdefault(message, []).append(setup.name)
        for message, names in by_variant.items():
            if len(names) < len(self.setups):
                message = f"variant {', '.join(names)}: {message}"
            out.append(message)
        out += self._no_duration()
        return tuple(out)

    # -- queues ----------------------------------------------------------------------------

    def _local_queues(self) -> list[str]:
        """Each LocalQueue pointing at a ClusterQueue that does not exist."""
        if not self.manifests.cluster_queues:
            return []
        names = {cq.name for cq in self.manifests.cluster_queues}
        return [
            f"{lq.source}: LocalQueue {lq.namespace}/{lq.name} points to ClusterQueue "
            f"{lq.cluster_queue}, which does not exist: its workloads are never admitted "
            f"(ClusterQueues: {', '.join(sorted(names))})"
            for lq in self.manifests.local_queues
            if lq.cluster_queue not in names
        ]

    def _unresolved(self, setup: VariantSetup) -> list[str]:
        """Workloads whose queue name resolves to nothing in this variant: never admitted."""
        config = setup.config
        # As written: the config leaves out LocalQueues naming no ClusterQueue (inactive).
        written = [*self.manifests.local_queues, *config.local_queues]
        local = {(lq.namespace, lq.name): lq.cluster_queue for lq in written}
        queues = {cq.name: cq for cq in config.cluster_queues}
        why: dict[tuple[str, str], str] = {}
        stuck: dict[tuple[str, str], list[Workload]] = {}
        for w in self.workloads:
            key = (w.namespace, w.queue)
            target = local.get(key)
            if target is None and not w.queue:
                why[key] = (
                    f"name no queue in namespace {w.namespace}, and manageJobsWithoutQueueName "
                    "is set: Kueue holds them suspended, never admitted"
                    if not config.volcano_queues
                    else f"name no Volcano queue in namespace {w.namespace}: never admitted"
                )
            elif target is None:
                why[key] = f"name LocalQueue {w.namespace}/{w.queue}, which does not exist"
                known = sorted(name for ns, name in local if ns == w.namespace and name)
                why[key] += f" (in {w.namespace}: {', '.join(known) or 'none'})"
            elif target not in queues:
                why[key] = (
                    f"name LocalQueue {w.namespace}/{w.queue}, whose ClusterQueue {target} "
                    "does not exist"
                )
            elif not admits_namespace(queues[target], w):
                why[key] = f"are in namespace {w.namespace}, which ClusterQueue {target} refuses"
            else:
                continue
            stuck.setdefault(key, []).append(w)
        return [
            f"{len(ws)} workloads {why[key]}: {self._named(ws, key)}"
            for key, ws in stuck.items()
        ]

    def _named(self, workloads: Sequence[Workload], key: tuple[str, str] | None = None) -> str:
        """The first few workloads, each at its manifest's file:line, and the team making them."""
        shown = [
            f"{w.key} ({self.sources[w.key]})" if w.key in self.sources else w.key
            for w in workloads[:SHOWN]
        ]
        left = len(workloads) - len(shown)
        said = ", ".join(shown) + (f" and {left} more" if left else "")
        team = self._team(key) if key is not None else None
        return f"{said}; made by {team}" if team is not None else said

    def _team(self, key: tuple[str, str]) -> str | None:
        """The team of the arrivals that makes workloads of (namespace, queue), as a field."""
        for i, arrival in enumerate(self.base.workload.arrivals):
            for j, team in enumerate(arrival.teams):
                if (team.namespace, team.queue) == key:
                    field = f"workload.arrivals[{i}].teams[{j}].queue"
                    return str(Location(self.file, field=field))
        return None

    # -- capacity --------------------------------------------------------------------------

    def _uncovered(self, setup: VariantSetup) -> list[str]:
        """GPUs of the cluster beyond every ClusterQueue's quota together: idle to Kueue."""
        config = setup.config
        if config.volcano_queues or not self.manifests.cluster_queues:
            return []
        quota = _quota(config)
        out = []
        for resource, capacity in sorted(_gpu_capacity(setup.nodes).items()):
            covered = quota.get(resource, 0)
            if covered >= capacity:
                continue
            unit = 1000 if resource == GPU else 1
            have, short = capacity // unit, (capacity - covered) // unit
            if covered == 0:
                out.append(
                    f"no ClusterQueue's quota covers {resource}: Kueue admits no work onto the "
                    f"cluster's {have}"
                )
            else:
                out.append(
                    f"the ClusterQueues' quotas cover {covered // unit} of the cluster's {have} "
                    f"{resource}: Kueue admits no work onto the other {short}"
                )
        return out

    # -- durations -------------------------------------------------------------------------

    def _no_duration(self) -> list[str]:
        endless = [w for w in self.workloads if w.duration is None]
        if not endless:
            return []
        named = self._named(endless)
        return [
            f"{len(endless)} workloads have no duration and run until the horizon: {named} "
            "(give them a gpuplane.io/duration annotation)"
        ]


def _quota(config: QueueingConfig) -> dict[str, int]:
    """Every ClusterQueue's nominal quota together, by resource (the most Kueue ever admits)."""
    out: dict[str, int] = {}
    for cq in config.cluster_queues:
        if cq.name == UNMANAGED:
            continue
        for group in cq.resource_groups:
            for flavor in group.flavors:
                for resource, spec in flavor.resources.items():
                    out[resource] = out.get(resource, 0) + spec.nominal
    return out


def _gpu_capacity(nodes: Iterable[Node]) -> dict[str, int]:
    """GPU resources the nodes advertise, in quota units (milli-GPU for nvidia.com/gpu)."""
    out: dict[str, int] = {}
    for node in nodes:
        shared = {name: n for name, n in node.extended.items() if is_gpu_resource(name)}
        if node.gpu_count and not shared:
            out[GPU] = out.get(GPU, 0) + node.gpu_count * 1000
        for name, n in shared.items():
            out[name] = out.get(name, 0) + n
    return out
