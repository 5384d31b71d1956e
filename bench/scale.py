"""Scale: placement throughput at 1,000 / 10,000 / 100,000 nodes, and how its cost grows.

    PYTHONPATH=src .venv/bin/python bench/scale.py [--nodes 1000 10000 100000] [--pods 2000]

The cluster and pods are bench/place_throughput.py's (8-GPU A100 nodes, half of them tainted;
1-GPU pods that tolerate the taint), placed with the default profile (most-allocated). Each
cluster is built once per size (building is not timed) and every run places its pods inside
a trial, which puts the cluster back as it was for the next run. A run's first cycle (a new
scheduler builds its per-cluster caches then) is shown apart, in ms; pods/s counts the others.
Per size it prints the median pods/s of `--repeat` runs for: every node scored from the
per-node cache (the default), every node scored afresh (`incremental=False`, the path before
issue 14), and percentageOfNodesToScore at its adaptive default (0) with the cache; then the
ratio cached/afresh of the same run, and the growth exponent b of the time per pod ~ nodes**b
fitted over the sizes (least squares on the logs): b = 0 is cost independent of the cluster's
size, b = 1 linear.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

from gpuplane.cluster import ClusterState
from gpuplane.objects import Pod
from gpuplane.placement import Placement, Scheduler
from place_throughput import make_nodes, make_pods

MODES = {
    "all, cached": {"incremental": True, "percentage_of_nodes_to_score": 100},
    "all, afresh": {"incremental": False, "percentage_of_nodes_to_score": 100},
    "adaptive, cached": {"incremental": True, "percentage_of_nodes_to_score": 0},
}


def rate(state: ClusterState, pods: list[Pod], options: dict[str, object]) -> tuple[float, float]:
    """(pods per second placing `pods[1:]`, seconds of the first cycle) on `state`, which is
    left as it was. The first cycle of a new scheduler also builds its per-cluster caches
    (taint groups, label masks, the first shape's answers); it is timed on its own."""
    with state.trial():
        scheduler = Scheduler(state, "most-allocated", **options)  # type: ignore[arg-type]
        start = time.perf_counter()
        placed = isinstance(scheduler.place(pods[0]), Placement)
        first = time.perf_counter() - start
        start = time.perf_counter()
        placed += sum(isinstance(scheduler.place(pod), Placement) for pod in pods[1:])
        elapsed = time.perf_counter() - start
    assert placed == len(pods), f"only {placed} of {len(pods)} placed"
    return (len(pods) - 1) / elapsed, first


def exponent(sizes: list[int], rates: list[float]) -> float:
    """b in seconds-per-pod ~ nodes**b, least squares over log-log points."""
    xs = [math.log(n) for n in sizes]
    ys = [math.log(1 / r) for r in rates]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum(
        (x - mx) ** 2 for x in xs
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--pods", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=list(MODES))
    args = parser.parse_args()
    pods = make_pods(args.pods)
    medians: dict[str, list[float]] = {mode: [] for mode in args.modes}
    print(f"{'nodes':>7} {'build s':>8} {'mode':<17} {'pods/s (median)':>16} {'first ms':>9}  runs")
    for nodes in args.nodes:
        start = time.perf_counter()
        state = ClusterState(make_nodes(nodes))
        build = time.perf_counter() - start
        runs: dict[str, list[float]] = {mode: [] for mode in args.modes}
        firsts: dict[str, list[float]] = {mode: [] for mode in args.modes}
        for _ in range(args.repeat):
            # Modes interleaved within a repeat, so that load on the machine hits them alike.
            for mode in args.modes:
                pods_per_s, first = rate(state, pods, MODES[mode])
                runs[mode].append(pods_per_s)
                firsts[mode].append(first)
        for mode in args.modes:
            median = statistics.median(runs[mode])
            medians[mode].append(median)
            first_ms = 1000 * statistics.median(firsts[mode])
            shown = ", ".join(f"{r:,.0f}" for r in runs[mode])
            print(f"{nodes:>7} {build:>8.1f} {mode:<17} {median:>16,.0f} {first_ms:>9.0f}  {shown}")
        if "all, cached" in runs and "all, afresh" in runs:
            ratios = [c / a for c, a in zip(runs["all, cached"], runs["all, afresh"], strict=True)]
            print(f"{nodes:>7} {'':>8} {'cached/afresh':<17} {statistics.median(ratios):>15.2f}x")
    if len(args.nodes) > 1:
        for mode in args.modes:
            print(f"growth exponent, {mode}: {exponent(args.nodes, medians[mode]):.2f}")


if __name__ == "__main__":
    main()
