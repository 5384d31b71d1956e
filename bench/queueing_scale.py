"""Queueing at scale: a whole simulation, and the admission cycle's cost against the backlog.

    .venv/bin/python bench/queueing_scale.py [--part full|backlog|all] [--profile]

full: 50,000 workloads from 1,000 ClusterQueues (100 cohorts of 10, one LocalQueue and team
namespace each) on 2,000 nodes of 8 A100 80GB (16,000 GPUs), arriving as a Poisson process
that keeps the cluster about 85% busy, simulated to completion. Prints the wall time of the
whole run (generation and building excluded, printed apart), of the admission cycles inside
it, and the cycles' cost per admitted workload.

backlog: N workloads (1,000, 10,000, 50,000) submitted at t=0 to the same 1,000 queues (1 GPU
of quota each) on 100 nodes (800 GPUs, room for a few hundred of them at a time); the gangs
exceed their cohort's quota and stay in the backlog for good. The run is timed until 800
workloads were admitted (the first fill and one turnover), so the backlog stays near N for
the big runs. If the cycle's cost does not grow with the backlog, the milliseconds per
admitted workload stay flat across N.

--profile runs each part under cProfile and prints the 25 most expensive functions.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from gpuplane.catalog import lookup
from gpuplane.cluster.state import ClusterState
from gpuplane.objects.gpu_request import GpuKind, GpuRequest
from gpuplane.objects.node import Node
from gpuplane.objects.pod import Pod
from gpuplane.objects.queues import (
    ClusterQueue,
    FlavorQuotas,
    LocalQueue,
    ResourceGroup,
    ResourceQuotaSpec,
)
from gpuplane.placement import Scheduler
from gpuplane.queueing import PodSet, Queueing, QueueingConfig, Workload
from gpuplane.sharing import gfd_labels
from gpuplane.sim.core.generators import Choice, LogNormal, Team, WorkloadKind, generate
from gpuplane.sim.core.simulator import Simulator

QUEUES = 1_000
COHORT_SIZE = 10
HOUR = 3600.0
ONE = Choice((1.0,))

KINDS = (
    # 60% one GPU, 30% one pod of 2 or 4 GPUs, 10% gangs of 2 or 4 pods of 8 GPUs.
    WorkloadKind(
        "single", ONE, ONE, LogNormal(3600, 0.6, 300), cpu_milli=8000, memory_mib=65_536, weight=6
    ),
    WorkloadKind(
        "multi",
        ONE,
        Choice((2.0, 4.0)),
        LogNormal(3600, 0.6, 300),
        cpu_milli=16_000,
        memory_mib=131_072,
        checkpoint_interval=900,
        weight=3,
    ),
    WorkloadKind(
        "gang",
        Choice((2.0, 4.0)),
        Choice((8.0,)),
        LogNormal(5400, 0.5, 600),
        cpu_milli=32_000,
        memory_mib=262_144,
        checkpoint_interval=1800,
        weight=1,
    ),
)


def nodes(count: int) -> list[Node]:
    model = lookup("NVIDIA-A100-SXM4-80GB")
    return [
        Node(
            name=f"node-{i}",
            cpu_milli=96_000,
            memory_mib=1024 * 1024,
            gpu_count=8,
            gpu_model=model.product,
            gpu_memory_mib=model.memory_mib,
            labels=gfd_labels(model, 8),
        )
        for i in range(count)
    ]


def config(gpus_per_queue: int) -> QueueingConfig:
    """1,000 ClusterQueues in cohorts of 10, each with the same nominal quota."""
    queues = []
    locals_ = []
    for i in range(QUEUES):
        quota = {
            "cpu": ResourceQuotaSpec(gpus_per_queue * 12_000),
            "memory": ResourceQuotaSpec(gpus_per_queue * 131_072),
            "nvidia.com/gpu": ResourceQuotaSpec(gpus_per_queue * 1000),
        }
        group = ResourceGroup(("cpu", "memory", "nvidia.com/gpu"), (FlavorQuotas("a100", quota),))
        queues.append(ClusterQueue(f"cq-{i}", (group,), cohort=f"org-{i // COHORT_SIZE}"))
        locals_.append(LocalQueue("jobs", f"team-{i}", f"cq-{i}"))
    return QueueingConfig(cluster_queues=tuple(queues), local_queues=tuple(locals_))


def teams() -> list[Team]:
    return [Team(f"team-{i}", "jobs", KINDS) for i in range(QUEUES)]


def mean_gpu_hours() -> float:
    """Expected GPU-hours of one workload of the mix (for the arrival rate)."""
    total = sum(k.weight for k in KINDS)
    out = 0.0
    for k in KINDS:
        assert isinstance(k.pods, Choice) and isinstance(k.gpus, Choice)
        assert isinstance(k.duration, LogNormal)
        pods = float(np.mean(k.pods.values))
        gpus = float(np.mean(k.gpus.values))
        hours = k.duration.median * float(np.exp(k.duration.sigma**2 / 2)) / HOUR
        out += k.weight / total * pods * gpus * hours
    return out


def simulator(node_count: int, gpus_per_queue: int, workloads: list[Workload]) -> Simulator:
    state = ClusterState(nodes(node_count))
    sim = Simulator(Queueing(Scheduler(state), config(gpus_per_queue)))
    sim.submit(workloads)
    return sim


def full(seed: int = 1, count: int = 50_000, node_count: int = 2_000) -> None:
    began = time.perf_counter()
    rate = 0.85 * node_count * 8 / mean_gpu_hours() / HOUR
    workloads = generate(teams(), np.random.default_rng(seed), count=count, rate=rate)
    sim = simulator(node_count, node_count * 8 // QUEUES, workloads)
    setup = time.perf_counter() - began
    began = time.perf_counter()
    report = sim.run()
    wall = time.perf_counter() - began
    print(
        f"full: {count:,} workloads, {QUEUES:,} ClusterQueues, {node_count:,} nodes: "
        f"{wall:.1f} s simulated to completion (+{setup:.1f} s to generate and build)"
    )
    rest = wall - sim.cycle_seconds - sim.engine_seconds
    print(
        f"  {sim.cycles:,} admission cycles took {sim.cycle_seconds:.1f} s "
        f"({1000 * sim.cycle_seconds / max(1, report.admitted):.3f} ms per admitted workload), "
        f"the engine's other calls (submit, finish, evict) {sim.engine_seconds:.1f} s, "
        f"the simulator and its metrics {rest:.1f} s"
    )
    print(
        f"  finished {report.finished:,}/{report.submitted:,}, utilization "
        f"{report.utilization:.1%}, wait p50 {report.wait.p50:.0f} s p99 {report.wait.p99:.0f} s, "
        f"end {report.end / HOUR:.1f} h"
    )


def backlog(sizes: tuple[int, ...] = (1_000, 10_000, 50_000), target: int = 800) -> None:
    for n in sizes:
        # One seed for every size: the same first workloads, so only the backlog differs.
        generated = generate(teams(), np.random.default_rng(1), count=n, rate=1.0)
        sim = simulator(100, 1, [replace(w, created=0.0) for w in generated])
        began = time.perf_counter()
        sim.run(stop=lambda s: s.admissions >= target)
        wall = time.perf_counter() - began
        per = 1000 * sim.cycle_seconds / sim.admissions
        per_cycle = 1000 * sim.cycle_seconds / max(1, sim.cycles)
        print(
            f"backlog {n:>6,}: {sim.admissions:,} admitted in {sim.cycles:,} cycles taking "
            f"{sim.cycle_seconds:.2f} s = {per:.3f} ms per admitted workload, "
            f"{per_cycle:.2f} ms per cycle "
            f"(whole run {wall:.2f} s, {sim.queueing.pending:,} still pending)"
        )


def uniform(sizes: tuple[int, ...] = (1_000, 10_000, 50_000), target: int = 2_400) -> None:
    """The engine's cost alone: N identical 1-GPU, 1-hour jobs, so every backlog size admits
    the same workloads at the same instants and only the depth of the queues differs."""
    template = Pod("job", cpu_milli=1000, memory_mib=4096, gpu=GpuRequest(GpuKind.WHOLE, 1, 1000))
    for n in sizes:
        work = [
            Workload(
                key=f"team-{i % QUEUES}/job-{i}",
                namespace=f"team-{i % QUEUES}",
                queue="jobs",
                pod_sets=(PodSet("main", template),),
                created=0.0,
                duration=3600.0 + i % 7,  # staggered ends: one completion per instant
            )
            for i in range(n)
        ]
        sim = simulator(100, 1, work)
        began = time.perf_counter()
        sim.run(stop=lambda s: s.admissions >= target)
        wall = time.perf_counter() - began
        print(
            f"uniform {n:>6,}: {sim.admissions:,} admitted in {sim.cycles:,} cycles taking "
            f"{sim.cycle_seconds:.2f} s = {1000 * sim.cycle_seconds / sim.admissions:.3f} ms per "
            f"admitted workload, {1000 * sim.cycle_seconds / max(1, sim.cycles):.2f} ms per cycle "
            f"(whole run {wall:.2f} s)"
        )


def profiled(fn: Callable[[], None]) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    fn()
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(25)
    print(out.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("full", "backlog", "uniform", "all"), default="all")
    parser.add_argument("--count", type=int, default=50_000)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    parts: list[Callable[[], None]] = []
    if args.part in ("full", "all"):
        parts.append(lambda: full(count=args.count))
    if args.part in ("backlog", "all"):
        parts.append(backlog)
    if args.part in ("uniform", "all"):
        parts.append(uniform)
    for part in parts:
        profiled(part) if args.profile else part()


if __name__ == "__main__":
    main()
