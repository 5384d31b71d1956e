"""Placement throughput: 10,000 single-GPU pods on clusters of 1,000 and 10,000 nodes.

    .venv/bin/python bench/place_throughput.py [--repeat 3] [--pods 10000]

Nodes are 8-GPU A100 80GB nodes (96 CPU, 1 TiB), half of them tainted like GPU nodes are; pods
ask for 1 GPU, 8 CPU and 64 GiB and tolerate the taint, so every filter runs. Prints, per
cluster size and profile, the median pods per second over the repeats (the cluster is rebuilt
for each repeat; building it is not timed).
"""

from __future__ import annotations

import argparse
import statistics
import time

from gpuplane.catalog import lookup
from gpuplane.cluster import ClusterState
from gpuplane.objects import GpuKind, GpuRequest, Node, Pod
from gpuplane.objects.scheduling import Taint, Toleration
from gpuplane.placement import Placement, Scheduler
from gpuplane.sharing import gfd_labels


def make_nodes(count: int) -> list[Node]:
    model = lookup("NVIDIA-A100-SXM4-80GB")
    taint = (Taint("nvidia.com/gpu", "present"),)
    return [
        Node(
            name=f"node-{i}",
            cpu_milli=96_000,
            memory_mib=1024 * 1024,
            gpu_count=8,
            gpu_model=model.product,
            gpu_memory_mib=model.memory_mib,
            labels=gfd_labels(model, 8),
            taints=taint if i % 2 else (),
        )
        for i in range(count)
    ]


def make_pods(count: int) -> list[Pod]:
    tolerate = (Toleration("nvidia.com/gpu", "Exists"),)
    gpu = GpuRequest(GpuKind.WHOLE, count=1, milli=1000)
    return [
        Pod(f"pod-{i}", cpu_milli=8_000, memory_mib=65_536, gpu=gpu, tolerations=tolerate)
        for i in range(count)
    ]


def run(nodes: int, pods: int, profile: str) -> tuple[float, int]:
    state = ClusterState(make_nodes(nodes))
    scheduler = Scheduler(state, profile)
    work = make_pods(pods)
    start = time.perf_counter()
    placed = sum(isinstance(scheduler.place(pod), Placement) for pod in work)
    elapsed = time.perf_counter() - start
    return pods / elapsed, placed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pods", type=int, default=10_000)
    parser.add_argument("--nodes", type=int, nargs="+", default=[1_000, 10_000])
    parser.add_argument("--profiles", nargs="+", default=["most-allocated", "least-allocated"])
    args = parser.parse_args()
    print(f"{'nodes':>7} {'profile':<16} {'placed':>7} {'pods/s (median)':>16}  runs")
    for nodes in args.nodes:
        for profile in args.profiles:
            rates, placed = [], 0
            for _ in range(args.repeat):
                rate, placed = run(nodes, args.pods, profile)
                rates.append(rate)
            runs = ", ".join(f"{r:,.0f}" for r in rates)
            print(
                f"{nodes:>7} {profile:<16} {placed:>7} {statistics.median(rates):>16,.0f}  {runs}"
            )


if __name__ == "__main__":
    main()
