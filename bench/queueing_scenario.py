"""The three-teams scenario under each of its variants, side by side.

    .venv/bin/python bench/queueing_scenario.py [--scenario examples/queueing/scenario.yaml]
        [--seed N] [--scale X]

Runs every variant of the scenario (no sharing, cohort borrowing, fair sharing with
preemption) on the same workloads and failures until every workload has finished (past the
scenario's horizon, which `gpuplane simulate` stops at), and prints two Markdown tables: waits,
utilization, GPU-hours, preemptions and fairness per variant; then per team its wait and
the GPU it held against its fair share.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from gpuplane.sim.core.metrics import Report
from gpuplane.sim.twin.load import load_twin
from gpuplane.sim.twin.run_variants import variant_queueing, variant_simulator

DEFAULT = Path(__file__).parent.parent / "examples" / "queueing" / "scenario.yaml"
HOUR = 3600.0


def hours(seconds: float) -> str:
    return f"{seconds / HOUR:.2f}"


def summary(reports: dict[str, Report]) -> list[str]:
    head = (
        "| variant | finished | wait p50 h | wait p95 h | wait p99 h | mean wait h | JCT p50 h "
        "| utilization | GPU-h used | GPU-h borrowed | preemptions | GPU-h lost to preemption "
        "| GPU-h lost to failures | Jain |"
    )
    lines = [head, "|---" + "|---:" * 13 + "|"]
    for name, r in reports.items():
        lost_failures = sum(v for k, v in r.gpu_hours_lost.items() if k != "Preempted")
        lines.append(
            f"| {name} | {r.finished}/{r.submitted} | {hours(r.wait.p50)} "
            f"| {hours(r.wait.p95)} | {hours(r.wait.p99)} "
            f"| {hours(r.wait.mean)} | {hours(r.jct.p50)} | {r.utilization:.1%} "
            f"| {r.gpu_hours_used:,.0f} | {r.gpu_hours_borrowed:,.0f} | {r.preemptions} "
            f"| {r.gpu_hours_lost_to_preemption:,.1f} | {lost_failures:,.1f} | {r.jain:.3f} |"
        )
    return lines


def per_team(reports: dict[str, Report]) -> list[str]:
    teams = list(next(iter(reports.values())).wait_by_queue)
    head = "| team | " + " | ".join(f"{v} wait p95 h | {v} held/fair" for v in reports) + " |"
    lines = [head, "|---" + "|---:" * (2 * len(reports)) + "|"]
    for team in teams:
        cells = []
        for r in reports.values():
            ratio = r.share_vs_fair.get(team)
            cells.append(hours(r.wait_by_queue[team].p95))
            cells.append("-" if ratio is None else f"{ratio:.2f}")
        lines.append(f"| {team} | " + " | ".join(cells) + " |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", type=Path, default=DEFAULT)
    parser.add_argument("--seed", type=int, default=None, help="default: the scenario's")
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies arrival counts")
    args = parser.parse_args()
    twin = load_twin(args.scenario, seed=args.seed, scale=args.scale)
    reports: dict[str, Report] = {}
    began = time.perf_counter()
    for setup in twin.variants:
        reports[setup.name] = variant_simulator(setup, variant_queueing(setup)).run()
    elapsed = time.perf_counter() - began
    first = next(iter(reports.values()))
    nodes = twin.variants[0].nodes
    print(
        f"{twin.base.name}: {first.submitted} workloads on {len(nodes)} nodes "
        f"({sum(n.gpu_count for n in nodes)} GPUs), seed {twin.base.seed}, "
        f"{len(reports)} variants in {elapsed:.1f} s\n"
    )
    print("\n".join(summary(reports)))
    print()
    print("\n".join(per_team(reports)))


if __name__ == "__main__":
    main()
