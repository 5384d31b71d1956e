"""The FGD paper's openb reproduction and replay speed, printed as Markdown for RESULTS.md.

    .venv/bin/python bench/openb_replay.py [--accuracy] [--speed] [--jobs N] [--repeat 3]
                                           [--data DIR] [--out DIR]

--accuracy replays, over seeds 42-51, the six policies on the default trace and FGD and
BestFit on the 16 other traces the paper's artifact ran (380 runs, in parallel over local
cores), writes the results files in the published layout and a plot per trace to --out, and
prints the allocation at arrived = 100% beside the published figures, with the targets:
every policy within 0.5 points on default, FGD within 1 point on every trace and above
BestFit wherever the published FGD is.

--speed replays the default trace to 130% once per policy (seed 42) --repeat times in this
process, one after another, and prints the median. A replay is timed from the parsed trace
to the binned curves: target workload, tuning, cluster state, every scheduling cycle and the
fragmentation meter. Targets: FGD under 10 s, every other policy under 3 s.

Exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from gpuplane.sim.openb.plots import plot_allocation
from gpuplane.sim.openb.reader import (
    GPU_NODE_FILE,
    PAPER_TRACES,
    openb_nodes,
    pod_list_file,
    read_openb_pods,
)
from gpuplane.sim.openb.replay import replay
from gpuplane.sim.openb.results import (
    ALLOC_FILE,
    PAPER_POLICIES,
    Published,
    Summary,
    discrete,
    read_published,
    summarize,
    write_results,
)
from gpuplane.sim.openb.run_replays import Job, JobResult, default_data_dir, run_jobs

SEEDS = range(42, 52)
AT = 100
DEFAULT_TOLERANCE = 0.5
FGD_TOLERANCE = 1.0
SPEED_LIMITS = {"fgd": 10.0}
OTHER_LIMIT = 3.0


def accuracy(data: Path, out: Path, jobs: int) -> bool:
    others = [t for t in PAPER_TRACES if t != "default"]
    batch = [Job("default", p, s) for p in PAPER_POLICIES for s in SEEDS]
    batch += [Job(t, p, s) for t in others for p in ("best-fit", "fgd") for s in SEEDS]
    start = time.perf_counter()
    results = run_jobs(batch, data, jobs)
    wall = time.perf_counter() - start
    published = read_published(data / "fgd_expected_results" / ALLOC_FILE)
    write_results((r.run for r in results), out)
    for trace in PAPER_TRACES:
        policies = list(PAPER_POLICIES) if trace == "default" else ["best-fit", "fgd"]
        plot_allocation(
            f"openb {trace}: GPU allocation (median, 25-75%)",
            {p: _rows(results, trace, p) for p in policies},
            out / f"alloc_{trace}.png",
            {p: list(published.runs(trace, p).values()) for p in policies},
        )
    print(f"{len(results)} runs in {wall:.0f} s on {jobs} processes; files in {out}/\n")
    ok = _default_table(results, published)
    ok = _traces_table(results, published) and ok
    return ok


def _rows(results: Sequence[JobResult], trace: str, policy: str) -> list[list[float | None]]:
    return [r.run.alloc for r in results if r.job.trace == trace and r.job.policy == policy]


def _ours(results: Sequence[JobResult], trace: str, policy: str) -> Summary:
    values = [row[AT] for row in _rows(results, trace, policy) if row[AT] is not None]
    summary = summarize([v for v in values if v is not None])
    assert summary is not None, f"no runs for {trace} {policy}"
    return summary


def _theirs(published: Published, trace: str, policy: str) -> Summary:
    summary = summarize(published.at(trace, policy, AT))
    assert summary is not None, f"nothing published for {trace} {policy}"
    return summary


def _fmt(s: Summary) -> str:
    return f"{s.mean:.2f} ± {s.sd:.2f}"


def _default_table(results: Sequence[JobResult], published: Published) -> bool:
    print("GPU allocation (%) at arrived = 100%, default trace, seeds 42-51 (mean ± sd):\n")
    print("| policy | gpuplane | published | diff | unallocated (gpuplane / published) | ok |")
    print("|---|---:|---:|---:|---:|---|")
    ok = True
    for policy, paper in PAPER_POLICIES.items():
        ours, theirs = _ours(results, "default", policy), _theirs(published, "default", policy)
        diff = ours.mean - theirs.mean
        good = abs(diff) <= DEFAULT_TOLERANCE
        ok &= good
        unalloc = f"{100 - ours.mean:.2f} / {100 - theirs.mean:.2f}"
        print(
            f"| {paper} | {_fmt(ours)} | {_fmt(theirs)} | {diff:+.2f} | {unalloc} | "
            f"{'yes' if good else 'NO'} |"
        )
    print(f"\nTarget: every policy within {DEFAULT_TOLERANCE} points of the published mean.\n")
    return ok


def _traces_table(results: Sequence[JobResult], published: Published) -> bool:
    print("FGD and BestFit at arrived = 100%, every trace the artifact ran, seeds 42-51:\n")
    print(
        "| trace | FGD gpuplane | FGD published | diff | BestFit gpuplane | "
        "BestFit published | FGD - BestFit (gpuplane / published) | ok |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    ok = True
    for trace in PAPER_TRACES:
        fgd, fgd_pub = _ours(results, trace, "fgd"), _theirs(published, trace, "fgd")
        bf, bf_pub = _ours(results, trace, "best-fit"), _theirs(published, trace, "best-fit")
        diff = fgd.mean - fgd_pub.mean
        beats = (fgd.mean > bf.mean) == (fgd_pub.mean > bf_pub.mean)
        good = abs(diff) <= FGD_TOLERANCE and beats
        ok &= good
        gap = f"{fgd.mean - bf.mean:+.2f} / {fgd_pub.mean - bf_pub.mean:+.2f}"
        print(
            f"| {trace} | {_fmt(fgd)} | {_fmt(fgd_pub)} | {diff:+.2f} | {_fmt(bf)} | "
            f"{_fmt(bf_pub)} | {gap} | {'yes' if good else 'NO'} |"
        )
    print(
        f"\nTarget: FGD within {FGD_TOLERANCE} point of the published mean, and above "
        "BestFit where the published FGD is.\n"
    )
    return ok


def speed(data: Path, repeat: int) -> bool:
    nodes = openb_nodes(data / GPU_NODE_FILE)
    pods = read_openb_pods(pod_list_file(data, "default")).pods
    print(f"One replay of the default trace to 130%, seed 42, {repeat} runs, one process:\n")
    print("| policy | tasks | median (s) | runs (s) | target | ok |")
    print("|---|---:|---:|---|---:|---|")
    ok = True
    for policy in PAPER_POLICIES:
        times = []
        tasks = 0
        for _ in range(repeat):
            start = time.perf_counter()
            result = replay(nodes, pods, policy, 42)
            discrete("default", result)
            times.append(time.perf_counter() - start)
            tasks = result.tasks
        median = statistics.median(times)
        limit = SPEED_LIMITS.get(policy, OTHER_LIMIT)
        good = median < limit
        ok &= good
        runs = ", ".join(f"{t:.2f}" for t in times)
        print(
            f"| {PAPER_POLICIES[policy]} | {tasks:,} | {median:.2f} | {runs} | < {limit:.0f} | "
            f"{'yes' if good else 'NO'} |"
        )
    print()
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--accuracy", action="store_true")
    parser.add_argument("--speed", action="store_true")
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=Path("out/openb"))
    parser.add_argument("--jobs", type=int, default=0, help="processes (0: one per core)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    data = args.data or default_data_dir()
    if not (args.accuracy or args.speed):
        args.accuracy = args.speed = True
    print(f"Command: `.venv/bin/python bench/openb_replay.py {' '.join(sys.argv[1:])}`\n")
    ok = True
    if args.speed:
        ok = speed(data, args.repeat) and ok
    if args.accuracy:
        ok = accuracy(data, args.out, args.jobs or os.cpu_count() or 1) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
