"""Run every variant of a scenario, in parallel over local cores, with progress per variant.

Each variant runs in its own process (the simulator is single-threaded Python), from a
picklable `VariantSetup`, with the scenario's seed: a variant's result does not depend on how
many run at once or in which order. Workers report progress (the share of the horizon
simulated) through a multiprocessing queue that the caller drains.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue as queue_module
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing.context import BaseContext
from typing import Any, Protocol

import numpy as np
from prometheus_client import generate_latest

from gpuplane.cluster.state import ClusterState
from gpuplane.placement import Scheduler
from gpuplane.placement.fragmentation import shape_of, target_workload
from gpuplane.queueing import Queueing, QuotaTree
from gpuplane.sim.core.metrics import HOUR, Report
from gpuplane.sim.core.simulator import Check, Simulator
from gpuplane.sim.twin.load import Pool, VariantSetup
from gpuplane.sim.twin.probe import Probe, Snapshot
from gpuplane.telemetry.control_plane import ControlPlaneMetrics


@dataclass(frozen=True)
class PoolUsage:
    """A pool's GPUs, price, the GPU-hours pods held on it and what they cost."""

    pool: Pool
    gpu_hours: float
    cost: float  # gpu_hours x price
    capacity_cost: float  # every GPU of the pool over the horizon x price


@dataclass(frozen=True)
class VariantResult:
    """One variant's run: the simulator's report and what the probe saw."""

    name: str
    description: str
    policy: str
    report: Report
    #: Per arrived workload (not rejected): wait to first admission, or to the end if never.
    waits: tuple[float, ...]
    #: The same to its pods' first run: longer where quota was reserved before they could be
    #: placed (quota-only admission).
    start_waits: tuple[float, ...]
    pools: tuple[PoolUsage, ...]
    busy_gpu_hours: float
    capacity_gpus: int
    busiest: Snapshot | None
    horizon: float
    currency: str
    wall_seconds: float
    #: The control-plane metrics at the horizon, in Prometheus' text format (Kueue's names).
    control_plane_metrics: str = ""

    @property
    def cost(self) -> float:
        return sum(p.cost for p in self.pools)

    @property
    def capacity_cost(self) -> float:
        return sum(p.capacity_cost for p in self.pools)


def run_variant(
    setup: VariantSetup, progress: Callable[[float], None] | None = None
) -> VariantResult:
    """Simulate one variant to its horizon."""
    began = time.perf_counter()
    workloads = setup.workloads
    queueing = variant_queueing(setup)
    busy = dict(setup.utilization)
    pod_busy = {p.key: busy[w.key] for w in workloads if w.key in busy for p in w.pods()}
    probe = Probe(
        queueing.state,
        setup.node_pool,
        [p.name for p in setup.pools],
        pod_busy,
        horizon=setup.horizon,
        progress=progress,
    )
    sim = variant_simulator(setup, queueing, check=probe)
    control_plane = ControlPlaneMetrics(queueing)
    sim.cycle_observers.append(control_plane.observe)
    state = queueing.state
    report = sim.run(until=setup.horizon)
    probe.finish(report.end)
    waits = tuple(
        (r.first_admitted if r.first_admitted is not None else report.end) - r.arrival
        for r in sim.records.values()
        if r.rejected is None
    )
    start_waits = tuple(
        (r.first_started if r.first_started is not None else report.end) - r.arrival
        for r in sim.records.values()
        if r.rejected is None
    )
    hours = setup.horizon / HOUR
    pools = tuple(
        PoolUsage(
            pool=p,
            gpu_hours=float(probe.pool_integral[i]) / (1000 * HOUR),
            cost=float(probe.pool_integral[i]) / (1000 * HOUR) * p.price,
            capacity_cost=p.gpus * hours * p.price,
        )
        for i, p in enumerate(setup.pools)
    )
    return VariantResult(
        name=setup.name,
        description=setup.description,
        policy=setup.policy,
        report=report,
        waits=waits,
        start_waits=start_waits,
        pools=pools,
        busy_gpu_hours=probe.busy_integral / (1000 * HOUR),
        capacity_gpus=state.total_gpus,
        busiest=probe.busiest,
        horizon=setup.horizon,
        currency=setup.currency,
        wall_seconds=time.perf_counter() - began,
        control_plane_metrics=generate_latest(control_plane.registry).decode(),
    )


def variant_queueing(setup: VariantSetup) -> Queueing:
    """The variant's admission engine on a fresh cluster, with its placement policy."""
    state = ClusterState(setup.nodes)
    # FGD measures fragmentation against the workload's own mix of requests.
    target = target_workload(
        shape_of(ps.template)
        for w in setup.workloads
        for ps in w.pod_sets
        for _ in range(ps.count)
    )
    scheduler = Scheduler(
        state, setup.policy, rng=np.random.default_rng(setup.seed), workload=target
    )
    return Queueing(scheduler, setup.config)


def variant_simulator(
    setup: VariantSetup, queueing: Queueing, *, check: Check | None = None
) -> Simulator:
    """A simulator of `queueing` with the variant's workloads and failures submitted."""
    reference = QuotaTree(setup.reference.cluster_queues, setup.reference.cohorts)
    sim = Simulator(queueing, fair_tree=reference, check=check)
    sim.submit(setup.workloads)
    for f in setup.failures:
        sim.fail_node(f.node, f.at, f.recover_at)
    return sim


class Listener(Protocol):
    """Told when every worker exists (threads may start now) and how far each variant is."""

    def started(self) -> None: ...

    def progress(self, index: int, done: float) -> None: ...


def run_variants(
    setups: Sequence[VariantSetup], *, jobs: int | None = None, listener: Listener | None = None
) -> list[VariantResult]:
    """Run every setup, `jobs` at a time (default: one per core); results in setup order."""
    workers = max(1, min(len(setups), jobs or os.cpu_count() or 1))
    if workers == 1:
        if listener is not None:
            listener.started()
        return [
            run_variant(s, _reporter(listener, i) if listener else None)
            for i, s in enumerate(setups)
        ]
    context = _context()
    updates: Any = context.Queue()
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=_init_worker, initargs=(updates,)
    ) as pool:
        # Under fork every worker is created by the first submit: before any listener thread.
        futures = [pool.submit(_work, i, s) for i, s in enumerate(setups)]
        if listener is not None:
            listener.started()
        _drain(updates, futures, listener)
        return [f.result() for f in futures]


def _context() -> BaseContext:
    # fork starts workers in milliseconds; elsewhere (macOS, Windows) the platform default.
    if sys.platform.startswith("linux"):
        return mp.get_context("fork")
    return mp.get_context()


def _reporter(listener: Listener, index: int) -> Callable[[float], None]:
    return lambda done: listener.progress(index, done)


def _drain(
    updates: Any, futures: Sequence[Future[VariantResult]], listener: Listener | None
) -> None:
    while True:
        try:
            index, done = updates.get(timeout=0.05)
        except queue_module.Empty:
            if all(f.done() for f in futures):
                break
            continue
        if listener is not None:
            listener.progress(index, done)


_UPDATES: Any = None


def _init_worker(updates: Any) -> None:
    global _UPDATES
    _UPDATES = updates


def _work(index: int, setup: VariantSetup) -> VariantResult:
    updates = _UPDATES

    def report(done: float) -> None:
        if updates is not None:
            updates.put((index, done))

    return run_variant(setup, report)
