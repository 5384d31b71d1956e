"""Placement throughput per GPU sharing mode on 1,000 nodes of 8 A100 80GB GPUs.

    .venv/bin/python bench/sharing_throughput.py [--repeat 3] [--pods 10000] [--nodes 1000]

Each mode gets a cluster where every node runs that mode and pods that ask for one unit of
what the mode offers (a whole GPU, a replica, a MIG instance, a vGPU, a 300m fraction).
Prints the median pods per second of the repeats and its ratio to exclusive mode, measured
in the same run. Building the cluster is not timed.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from gpuplane.catalog import lookup
from gpuplane.catalog.resources import GPU, GPU_SHARED
from gpuplane.cluster import ClusterState
from gpuplane.objects import GpuKind, GpuRequest, Node, Pod
from gpuplane.placement import Placement, Scheduler
from gpuplane.sharing import GpuSharing, MigStrategy, NodeSharing, SharingKind, gfd_labels

MODEL = lookup("NVIDIA-A100-SXM4-80GB")

MODES: dict[str, tuple[NodeSharing, GpuRequest]] = {
    "exclusive": (NodeSharing(), GpuRequest(GpuKind.WHOLE, 1, 1000, resource=GPU)),
    "time-slicing x4": (
        NodeSharing(GpuSharing(SharingKind.TIME_SLICING, 4, GPU_SHARED)),
        GpuRequest(GpuKind.SHARED, 1, resource=GPU_SHARED),
    ),
    "mps x4": (
        NodeSharing(GpuSharing(SharingKind.MPS, 4, GPU_SHARED, True)),
        GpuRequest(GpuKind.SHARED, 1, resource=GPU_SHARED),
    ),
    "mig all-1g.10gb": (
        NodeSharing(
            GpuSharing(SharingKind.MIG, mig_layout=("1g.10gb",) * 7),
            mig_strategy=MigStrategy.MIXED,
        ),
        GpuRequest(GpuKind.MIG, 1, mig_profile="1g.10gb", resource="nvidia.com/mig-1g.10gb"),
    ),
    "mig dynamic": (
        NodeSharing(
            GpuSharing(SharingKind.MIG, mig_layout=("7g.80gb",)),
            mig_strategy=MigStrategy.MIXED,
            dynamic_mig=True,
        ),
        GpuRequest(GpuKind.MIG, 1, mig_profile="3g.40gb", resource="nvidia.com/mig-3g.40gb"),
    ),
    "fractional 300m": (
        NodeSharing(GpuSharing(SharingKind.FRACTIONAL)),
        GpuRequest(GpuKind.FRACTION, 1, 300),
    ),
    "vgpu 8C": (
        NodeSharing(
            GpuSharing(SharingKind.VGPU, resource="nvidia.com/GRID_A100-8C", vgpu_memory_mib=8192)
        ),
        GpuRequest(GpuKind.SHARED, 1, resource="nvidia.com/GRID_A100-8C"),
    ),
}


def nodes(count: int, sharing: NodeSharing) -> list[Node]:
    return [
        Node(
            name=f"node-{i}",
            cpu_milli=256_000,
            memory_mib=2 * 1024 * 1024,
            pods=500,
            gpu_count=8,
            gpu_model=MODEL.product,
            gpu_memory_mib=MODEL.memory_mib,
            labels=gfd_labels(MODEL, 8),
            sharing=sharing,
        )
        for i in range(count)
    ]


def run(make: Callable[[], ClusterState], request: GpuRequest, pods: int) -> tuple[float, int]:
    state = make()
    scheduler = Scheduler(state, "most-allocated")
    work = [Pod(f"p{i}", cpu_milli=1000, memory_mib=4096, gpu=request) for i in range(pods)]
    start = time.perf_counter()
    placed = sum(isinstance(scheduler.place(p), Placement) for p in work)
    return pods / (time.perf_counter() - start), placed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pods", type=int, default=10_000)
    parser.add_argument("--nodes", type=int, default=1_000)
    args = parser.parse_args()
    print(f"{'mode':<18} {'placed':>7} {'pods/s (median)':>16} {'vs exclusive':>13}  runs")
    baseline = 0.0
    for name, (sharing, request) in MODES.items():
        rates, placed = [], 0
        for _ in range(args.repeat):
            build = lambda s=sharing: ClusterState(nodes(args.nodes, s))  # noqa: E731
            rate, placed = run(build, request, args.pods)
            rates.append(rate)
        median = statistics.median(rates)
        baseline = baseline or median
        runs = ", ".join(f"{r:,.0f}" for r in rates)
        print(f"{name:<18} {placed:>7} {median:>16,.0f} {median / baseline:>12.2f}x  {runs}")


if __name__ == "__main__":
    main()
