"""A scenario loaded from its file, run under each of its variants.

Every variant sees the same cluster, the same workloads (generated from the scenario's seed)
and the same failures; only the admission rules differ. Fair shares are always measured
against the ClusterQueues and cohorts as the manifests write them (the organisation's
intent), so that variants are compared on one scale.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from gpuplane.cluster.load import load_cluster
from gpuplane.cluster.state import ClusterState
from gpuplane.errors import InputError, Location
from gpuplane.objects.node import Node
from gpuplane.objects.queues import ClusterQueue, Preemption
from gpuplane.objects.reader import Manifests, read_manifests
from gpuplane.objects.yamlio import load_file
from gpuplane.placement import Scheduler
from gpuplane.queueing import (
    Queueing,
    QueueingConfig,
    QuotaTree,
    Workload,
    manifest_workloads,
    queueing_config,
)
from gpuplane.sim.generators import Choice, Fixed, LogNormal, Team, WorkloadKind, generate
from gpuplane.sim.metrics import Report
from gpuplane.sim.scenario_spec import KindSpec, ScenarioSpec, VariantSpec, parse_scenario
from gpuplane.sim.simulator import Check, Simulator

HOUR = 3600.0


@dataclass(frozen=True)
class Scenario:
    spec: ScenarioSpec
    nodes: tuple[Node, ...]
    manifests: Manifests
    config: QueueingConfig

    def workloads(self, seed: int | None = None, scale: float = 1.0) -> list[Workload]:
        """The manifests' workloads and the generated arrivals (`scale` times as many)."""
        rng = np.random.default_rng(self.spec.seed if seed is None else seed)
        out = manifest_workloads(self.manifests)
        kinds = {name: self._kind(name, k) for name, k in self.spec.kinds.items()}
        for arrival in self.spec.arrivals:
            teams = [
                Team(
                    t.namespace,
                    t.queue,
                    tuple(replace(kinds[k], weight=w) for k, w in t.kinds.items()),
                    t.weight,
                )
                for t in arrival.teams
            ]
            out += generate(
                teams,
                rng,
                count=round(arrival.count * scale),
                rate=arrival.rate_per_hour / HOUR,
                start=arrival.start,
                prefix=arrival.name,
            )
        return out

    def _kind(self, name: str, k: KindSpec) -> WorkloadKind:
        classes = {c.name: c.value for c in self.manifests.workload_priority_classes}
        return workload_kind(name, k, classes, f"kinds.{name}")

    def variant_config(self, name: str) -> QueueingConfig:
        """The admission setup of a variant."""
        if name not in self.spec.variants:
            known = ", ".join(self.spec.variants)
            raise InputError(f"no variant {name!r} in scenario {self.spec.name}; have {known}")
        return apply_variant(self.config, self.spec.variants[name])

    def simulate(
        self,
        variant: str,
        *,
        seed: int | None = None,
        scale: float = 1.0,
        check: Check | None = None,
    ) -> Report:
        """Run one variant to the end; returns its metrics."""
        sim = self.simulator(variant, seed=seed, scale=scale, check=check)
        return sim.run()

    def simulator(
        self,
        variant: str,
        *,
        seed: int | None = None,
        scale: float = 1.0,
        check: Check | None = None,
    ) -> Simulator:
        """A simulator set up for one variant, with its workloads and failures submitted."""
        state = ClusterState(self.nodes)
        queueing = Queueing(Scheduler(state), self.variant_config(variant))
        reference = QuotaTree(self.config.cluster_queues, self.config.cohorts)
        sim = Simulator(queueing, fair_tree=reference, check=check)
        sim.submit(self.workloads(seed, scale))
        for f in self.spec.failures:
            recover = None if f.recover_after is None else f.at + f.recover_after
            sim.fail_node(f.node, f.at, recover)
        return sim


def workload_kind(name: str, k: KindSpec, classes: dict[str, int], field: str) -> WorkloadKind:
    """A generator kind from its spec; a priorityClass must name a WorkloadPriorityClass."""
    priority = k.priority
    if k.priority_class is not None:
        if k.priority_class not in classes:
            raise InputError(
                f"WorkloadPriorityClass {k.priority_class} is not in the manifests",
                where=Location(field=f"{field}.priorityClass"),
                hint=f"known: {', '.join(sorted(classes)) or 'none'}",
            )
        priority = classes[k.priority_class]
    law = k.duration
    duration = (
        Fixed(law)
        if isinstance(law, float)
        else LogNormal(law.median, law.sigma, law.min, law.max or float("inf"))
    )
    return WorkloadKind(
        name=name,
        pods=_counts(k.pods),
        gpus=_counts(k.gpus),
        duration=duration,
        cpu_milli=k.cpu,
        memory_mib=k.memory,
        gpu_milli=k.gpu_milli,
        checkpoint_interval=k.checkpoint_interval,
        priority=priority,
    )


def _counts(value: int | list[int]) -> Choice | Fixed:
    return Fixed(float(value)) if isinstance(value, int) else Choice(tuple(map(float, value)))


def apply_variant(config: QueueingConfig, variant: VariantSpec) -> QueueingConfig:
    """`config` under a variant's rules."""
    queues: list[ClusterQueue] = []
    for cq in config.cluster_queues:
        if not variant.cohorts:
            cq = replace(cq, cohort=None)
        if variant.queueing_strategy is not None:
            cq = replace(cq, queueing_strategy=variant.queueing_strategy)
        if variant.preemption is not None:
            p = variant.preemption
            cq = replace(
                cq,
                preemption=Preemption(
                    within_cluster_queue=p.within_cluster_queue,
                    reclaim_within_cohort=p.reclaim_within_cohort,
                    borrow_within_cohort=p.borrow_within_cohort,
                ),
            )
        queues.append(cq)
    return replace(
        config,
        cluster_queues=tuple(queues),
        cohorts=config.cohorts if variant.cohorts else (),
        fair_sharing=config.fair_sharing if variant.fair_sharing is None else variant.fair_sharing,
        placement_aware=variant.placement_aware,
        backfill=variant.backfill,
        gang_timeout=variant.gang_timeout,
    )


def load_scenario(path: str | Path) -> Scenario:
    """Read a scenario file and what it names (paths relative to the file)."""
    file = Path(path)
    docs = load_file(file)
    if len(docs) != 1:
        raise InputError(
            f"a scenario is one YAML document, found {len(docs)}", where=Location(str(file))
        )
    spec = parse_scenario(docs[0].body, str(file))
    base = file.parent
    nodes = load_cluster(base / spec.cluster)
    manifests = read_manifests([base / m for m in spec.manifests])
    return Scenario(spec, tuple(nodes), manifests, queueing_config(manifests))
