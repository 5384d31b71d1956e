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
from gpuplane.objects.reader import Manifests, read_manifests
from gpuplane.objects.scheduling import Toleration
from gpuplane.objects.yamlio import load_file
from gpuplane.queueing import QueueingConfig, Workload, manifest_workloads, queueing_config
from gpuplane.sim.durations import EmpiricalDurations, philly_durations
from gpuplane.sim.generators import Team, generate
from gpuplane.sim.openb_source import openb_workloads
from gpuplane.sim.prices import PriceTable, default_prices
from gpuplane.sim.scenario import apply_variant, workload_kind
from gpuplane.sim.twin_parse import Variant, parse_twin
from gpuplane.sim.twin_spec import CAPACITY_TYPE_LABEL, TwinKind, TwinSpec

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


def default_scenario_path() -> Path:
    """The built-in scenario (package data)."""
    return Path(str(resources.files("gpuplane.sim").joinpath("scenarios", DEFAULT_SCENARIO)))


def load_twin(path: str | Path | None = None, *, seed: int | None = None) -> Twin:
    """Read, validate and set up a scenario file (the built-in one when `path` is None)."""
    file = Path(path) if path is not None else default_scenario_path()
    docs = load_file(file)
    if len(docs) != 1:
        raise InputError(
            f"a scenario is one YAML document, found {len(docs)}", where=Location(str(file))
        )
    parsed = parse_twin(docs[0].body, str(file))
    base = parsed.base if seed is None else parsed.base.model_copy(update={"seed": seed})
    root = file.parent
    queues = read_manifests([root / q for q in base.queues], recursive=False)
    workloads, utilization = _workloads(base, root, queues)
    reference = queueing_config(queues, workloads)
    setups = tuple(
        _setup(v, base, root, reference, workloads, utilization) for v in parsed.variants
    )
    return Twin(str(file), base, setups)


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


# -- the workload --------------------------------------------------------------------------


def _workloads(
    spec: TwinSpec, root: Path, queues: Manifests
) -> tuple[tuple[Workload, ...], tuple[tuple[str, float], ...]]:
    """Every workload of the scenario, and the busy share of those that set one."""
    wl = spec.workload
    rng = np.random.default_rng(spec.seed)
    out: list[Workload] = []
    if wl.manifests:
        manifests = read_manifests(
            [*(root / q for q in spec.queues), *(root / m for m in wl.manifests)],
            recursive=False,
        )
        out += manifest_workloads(manifests)
    classes = {c.name: c.value for c in queues.workload_priority_classes}
    kinds = {
        name: workload_kind(name, k, classes, f"workload.kinds.{name}")
        for name, k in wl.kinds.items()
    }
    for arrival in wl.arrivals:
        teams = [
            Team(
                t.namespace,
                t.queue,
                tuple(replace(kinds[k], weight=w) for k, w in t.kinds.items()),
                t.weight,
            )
            for t in arrival.teams
        ]
        generated = generate(
            teams,
            rng,
            count=arrival.count,
            rate=arrival.rate_per_hour / HOUR,
            start=arrival.start,
            prefix=arrival.name,
        )
        out += [_placed(w, wl.kinds[w.labels["kind"]]) for w in generated]
    if wl.trace is not None:
        trace = wl.trace
        durations = (
            philly_durations(root / trace.durations) if trace.durations else _philly_or_flat()
        )
        out += openb_workloads(
            root / trace.openb, durations, rng, queue=trace.queue, limit=trace.limit
        )
    busy = tuple(
        (w.key, wl.kinds[w.labels["kind"]].utilization)
        for w in out
        if w.labels.get("kind") in wl.kinds and wl.kinds[w.labels["kind"]].utilization != 1.0
    )
    return tuple(out), busy


def _philly_or_flat() -> EmpiricalDurations:
    try:
        return philly_durations()
    except InputError:
        return EmpiricalDurations([HOUR])  # no Philly data here: an hour each


def _placed(w: Workload, kind: TwinKind) -> Workload:
    """A generated workload with its kind's node selector and tolerations."""
    if not kind.node_selector and not kind.tolerations:
        return w
    tolerations = tuple(
        Toleration(key=t.key, operator=t.operator, value=t.value, effect=t.effect)
        for t in kind.tolerations
    )
    pod_sets = tuple(
        replace(
            ps,
            template=replace(
                ps.template,
                node_selector={**ps.template.node_selector, **kind.node_selector},
                tolerations=ps.template.tolerations + tolerations,
            ),
        )
        for ps in w.pod_sets
    )
    return replace(w, pod_sets=pod_sets)
