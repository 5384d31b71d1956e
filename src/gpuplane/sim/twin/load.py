"""A scenario file loaded into what each variant runs: nodes, admission setup, workloads, prices.

Everything a user can get wrong is checked here, before any variant runs: the file (with every
variant merged onto the base), the queue manifests, the workload sources, the node names that
failures name, and a price for every GPU model in every variant's cluster.

Every variant gets the same workloads (drawn once from the scenario's seed) and the same
failures; spot nodes are interrupted at times drawn per node name from the seed, so a node
that is spot in two variants fails at the same instants in both.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path

import numpy as np

from gpuplane.cluster.load import load_cluster
from gpuplane.cluster.spec import ClusterSpec
from gpuplane.errors import InputError, Location
from gpuplane.objects.node import Node
from gpuplane.objects.queues import ClusterQueue, Preemption
from gpuplane.objects.reader import read_manifests
from gpuplane.objects.yaml_load import load_file
from gpuplane.queueing import QueueingConfig, Workload, queueing_config
from gpuplane.sim.twin.checks import Findings
from gpuplane.sim.twin.parse import Variant, parse_twin
from gpuplane.sim.twin.prices import PriceTable, default_prices
from gpuplane.sim.twin.spec import CAPACITY_TYPE_LABEL, TwinSpec
from gpuplane.sim.twin.spec_workload import QueueingSpec
from gpuplane.sim.twin.unmanaged import with_unmanaged
from gpuplane.sim.twin.workloads import scenario_workloads

HOUR = 3600.0
DAY = 24 * HOUR
DEFAULT_SCENARIO = "default.yaml"
#: Labels that mark spot capacity on real nodes (Karpenter, GKE, EKS managed node groups).
SPOT_LABELS = {
    CAPACITY_TYPE_LABEL: "spot",
    "cloud.google.com/gke-spot": "true",
    "eks.amazonaws.com/capacityType": "SPOT",
}


@dataclass(frozen=True)
class Pool:
    """A group of nodes with one GPU model and one price."""

    name: str
    model: str | None  # catalog product; None for CPU-only nodes
    nodes: int
    gpus: int
    spot: bool
    price: float  # per GPU-hour, spot discount applied


@dataclass(frozen=True)
class Failure:
    node: str
    at: float
    recover_at: float | None
    spot: bool = False


@dataclass(frozen=True)
class VariantSetup:
    """Everything one variant's simulation needs; picklable, so that workers can run it."""

    name: str
    description: str
    nodes: tuple[Node, ...]
    node_pool: tuple[int, ...]  # index into pools, per node
    pools: tuple[Pool, ...]
    policy: str
    config: QueueingConfig
    reference: QueueingConfig  # the queues as written: fair shares are measured against them
    workloads: tuple[Workload, ...]
    utilization: tuple[tuple[str, float], ...]  # workload key -> busy share, where not 1
    failures: tuple[Failure, ...]
    horizon: float
    seed: int
    currency: str


@dataclass(frozen=True)
class Twin:
    """A loaded scenario: its base spec and one setup per variant."""

    file: str
    base: TwinSpec
    variants: tuple[VariantSetup, ...]
    #: What was read, in a few lines, and what may make the result wrong (`twin.checks`).
    summary: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


def default_scenario_path() -> Path:
    """The built-in scenario (package data)."""
    return Path(str(resources.files("gpuplane.sim.twin").joinpath("scenarios", DEFAULT_SCENARIO)))


def load_twin(
    path: str | Path | None = None, *, seed: int | None = None, scale: float = 1.0
) -> Twin:
    """Read, validate and set up a scenario file (the built-in one when `path` is None).

    `seed` replaces the scenario's; `scale` multiplies every arrival count (smaller or larger
    runs of the same scenario, for tests and benchmarks).
    """
    file = Path(path) if path is not None else default_scenario_path()
    docs = load_file(file)
    if len(docs) != 1:
        raise InputError(
            f"a scenario is one YAML document, found {len(docs)}", where=Location(str(file))
        )
    parsed = parse_twin(docs[0].body, str(file))
    base = parsed.base if seed is None else parsed.base.model_copy(update={"seed": seed})
    if scale != 1.0:
        arrivals = [
            a.model_copy(update={"count": round(a.count * scale)}) for a in base.workload.arrivals
        ]
        workload = base.workload.model_copy(update={"arrivals": arrivals})
        base = base.model_copy(update={"workload": workload})
    root = file.parent
    queues = read_manifests([root / q for q in base.queues], recursive=False)
    manifests = queues
    if base.workload.manifests:
        paths = [*(root / q for q in base.queues), *(root / m for m in base.workload.manifests)]
        manifests = read_manifests(paths, recursive=False)
    workloads, utilization = scenario_workloads(base, root, manifests)
    reference = _active(queueing_config(queues, workloads))
    setups = tuple(
        _setup(v, base, root, reference, workloads, utilization) for v in parsed.variants
    )
    found = Findings(str(file), base, manifests, setups)
    return Twin(str(file), base, setups, found.summary(), found.warnings())


def _setup(
    variant: Variant,
    base: TwinSpec,
    root: Path,
    reference: QueueingConfig,
    workloads: tuple[Workload, ...],
    utilization: tuple[tuple[str, float], ...],
) -> VariantSetup:
    spec = variant.spec
    prices = default_prices().with_overrides(spec.prices.on_demand, spec.prices.spot_discount)
    nodes, node_pool, pools = _cluster(spec, root, prices, variant.name)
    failures = _failures(spec, base, nodes, node_pool, pools, variant.name)
    if not spec.queueing.manage_jobs_without_queue_name:
        reference = with_unmanaged(reference, workloads)
    return VariantSetup(
        name=variant.name,
        description=variant.description,
        nodes=nodes,
        node_pool=node_pool,
        pools=pools,
        policy=spec.placement,
        config=apply_variant(reference, spec.queueing),
        reference=reference,
        workloads=workloads,
        utilization=utilization,
        failures=failures,
        horizon=base.horizon,
        seed=base.seed,
        currency=prices.currency,
    )


def _active(config: QueueingConfig) -> QueueingConfig:
    """`config` without LocalQueues naming no ClusterQueue: Kueue keeps those inactive, so
    their workloads are never admitted (`twin.checks` warns about each)."""
    names = {cq.name for cq in config.cluster_queues}
    local = tuple(lq for lq in config.local_queues if lq.cluster_queue in names)
    return config if len(local) == len(config.local_queues) else replace(config, local_queues=local)


def apply_variant(config: QueueingConfig, variant: QueueingSpec) -> QueueingConfig:
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


# -- the cluster ---------------------------------------------------------------------------


def _cluster(
    spec: TwinSpec, root: Path, prices: PriceTable, variant: str
) -> tuple[tuple[Node, ...], tuple[int, ...], tuple[Pool, ...]]:
    """The variant's nodes, the pool of each, and the pools with their prices."""
    where = Location(field=f"variant {variant}: cluster")
    if spec.cluster.node_pools is not None:
        pools = spec.cluster.node_pools
        order = [p.name for p in pools]
        spot_of = {p.name: p.capacity_type == "spot" for p in pools}
        # ClusterSpec.nodes() makes each pool's nodes in pool order.
        node_pool = tuple(i for i, p in enumerate(pools) for _ in range(p.count))
        cluster = ClusterSpec(name=spec.cluster.name, node_pools=list(pools))
        # Spot nodes carry the label Karpenter gives them, so that selectors can find them.
        nodes = [
            replace(n, labels={**n.labels, CAPACITY_TYPE_LABEL: "spot"})
            if pools[i].capacity_type == "spot"
            else n
            for n, i in zip(cluster.nodes(), node_pool, strict=True)
        ]
    else:
        assert spec.cluster.nodes is not None  # the spec requires one of the two
        nodes = load_cluster(root / spec.cluster.nodes)
        order = list(dict.fromkeys(_pool_of(n) for n in nodes))
        spot_of = {name: any(_is_spot(n) for n in nodes if _pool_of(n) == name) for name in order}
        index = {name: i for i, name in enumerate(order)}
        node_pool = tuple(index[_pool_of(n)] for n in nodes)
    if not nodes:
        # Every figure of a run on no nodes would be a zero that means nothing.
        raise InputError("the cluster has no nodes: every pool has count 0", where=where)
    out: list[Pool] = []
    for name in order:
        members = [n for n, p in zip(nodes, node_pool, strict=True) if order[p] == name]
        model = next((n.gpu_model for n in members if n.gpu_model), None)
        gpus = sum(n.gpu_count for n in members)
        try:
            price = prices.per_gpu_hour(model, spot_of[name]) if model and gpus else 0.0
        except InputError as exc:
            raise exc.at(where) from None
        out.append(Pool(name, model, len(members), gpus, spot_of[name], price))
    return tuple(nodes), node_pool, tuple(out)


def _pool_of(node: Node) -> str:
    pool = node.labels.get("gpuplane.io/pool")
    if pool:
        return pool
    return node.gpu_model or "cpu"


def _is_spot(node: Node) -> bool:
    return any(node.labels.get(k) == v for k, v in SPOT_LABELS.items())


def _failures(
    spec: TwinSpec,
    base: TwinSpec,
    nodes: Sequence[Node],
    node_pool: Sequence[int],
    pools: Sequence[Pool],
    variant: str,
) -> tuple[Failure, ...]:
    names = {n.name for n in nodes}
    out: list[Failure] = []
    for i, f in enumerate(spec.failures):
        if f.node not in names:
            raise InputError(
                f"variant {variant} has no node {f.node}",
                where=Location(field=f"failures[{i}].node"),
                hint="nodes from nodePools are named <pool>-<index>, e.g. a100-0",
            )
        recover = None if f.recover_after is None else f.at + f.recover_after
        out.append(Failure(f.node, f.at, recover))
    rate = spec.spot.interruptions_per_node_day / DAY
    if rate > 0:
        for node, p in zip(nodes, node_pool, strict=True):
            if pools[p].spot:
                out += _interruptions(node.name, base.seed, rate, spec.spot.replaced_after, base)
    return tuple(sorted(out, key=lambda f: (f.at, f.node)))


def _interruptions(
    node: str, seed: int, rate: float, replaced_after: float, base: TwinSpec
) -> list[Failure]:
    """Spot interruptions of one node: a Poisson process, one outage at a time."""
    rng = np.random.default_rng([seed, zlib.crc32(node.encode())])
    out: list[Failure] = []
    t = 0.0
    while True:
        t += float(rng.exponential(1.0 / rate))
        if t >= base.horizon:
            return out
        out.append(Failure(node, t, t + replaced_after, spot=True))
        t += replaced_after
