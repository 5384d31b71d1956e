"""`gpuplane replay openb`: the FGD paper's openb experiment, run on gpuplane's own scheduler.

Runs every (trace, policy, seed) in parallel over local cores, writes the three results files
in the layout the paper's authors published, a PNG per trace of allocation against arrived
workload, and prints per trace the unallocated GPUs at arrived = 100% (mean and standard
deviation over seeds) beside the published figure.
"""

from __future__ import annotations

import os
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table

from gpuplane.cli.app import err, out
from gpuplane.errors import InputError
from gpuplane.files import output_folder
from gpuplane.limits import MAX_SEED, MAX_SEEDS, MAX_TUNE
from gpuplane.sim.openb.plots import plot_allocation
from gpuplane.sim.openb.reader import ALL_TRACES, GPU_NODE_FILE, PAPER_TRACES, pod_list_file
from gpuplane.sim.openb.replay import PAPER_TUNE
from gpuplane.sim.openb.results import (
    ALLOC_FILE,
    PAPER_POLICIES,
    Published,
    Summary,
    read_published,
    summarize,
    write_results,
)
from gpuplane.sim.openb.run_replays import DATA_ENV, Job, JobResult, default_data_dir, run_jobs

PUBLISHED_DIR = "fgd_expected_results"
HEADLINE = 100  # the paper's bar charts: arrived workload = 100% of GPU capacity

replay_app = typer.Typer(
    help="Replay published scheduling experiments on gpuplane's scheduler.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(replay_app, name="replay")


@replay_app.command("openb")
def openb(
    trace: list[str] = typer.Option(
        ["default"],
        "--trace",
        "-t",
        help="Trace variant(s), repeatable or comma-separated; 'paper' = the 17 the paper ran.",
    ),
    policy: list[str] = typer.Option(
        ["fgd"],
        "--policy",
        "-p",
        help=f"Policies, repeatable or comma-separated; 'all' = {', '.join(PAPER_POLICIES)}.",
    ),
    seeds: str = typer.Option("42-51", "--seeds", help="Seeds: '42-51', '42,45' or both."),
    data: Path | None = typer.Option(
        None, "--data", help=f"The openb folder (default: ${DATA_ENV} or ../shared/data/openb)."
    ),
    out_dir: Path = typer.Option(Path("replay-openb"), "--out", "-o", help="Output folder."),
    jobs: int = typer.Option(0, "--jobs", "-j", help="Worker processes (0: one per core)."),
    tune: float = typer.Option(
        PAPER_TUNE,
        "--tune",
        min=0.01,
        max=MAX_TUNE,
        help="Workload tuned to this x capacity.",
    ),
) -> None:
    """Replay the Alibaba openb trace as the FGD paper does and compare with its results."""
    traces = _choices(trace, ALL_TRACES, {"paper": PAPER_TRACES, "all": ALL_TRACES}, "trace")
    policies = _choices(policy, tuple(PAPER_POLICIES), {"all": tuple(PAPER_POLICIES)}, "policy")
    seed_list = parse_seeds(seeds)
    output_folder(out_dir, "--out")  # checked now, not found wanting after the replay
    data_dir = data or default_data_dir()
    _check_data(data_dir, traces)

    batch = [Job(t, p, s, tune) for t in traces for p in policies for s in seed_list]
    results = _run(batch, data_dir, jobs or os.cpu_count() or 1)
    written = write_results((r.run for r in results), out_dir)
    published_file = data_dir / PUBLISHED_DIR / ALLOC_FILE
    published = read_published(published_file) if published_file.is_file() else None
    for t in traces:
        mine = [r for r in results if r.job.trace == t]
        plot = plot_allocation(
            f"openb {t}: GPU allocation (median, 25-75%), tune {tune}",
            {p: [r.run.alloc for r in mine if r.job.policy == p] for p in policies},
            out_dir / f"alloc_{t}.png",
            {p: list(published.runs(t, p).values()) for p in policies} if published else None,
        )
        written.append(plot)
        out.print(_table(t, policies, mine, published))
    for path in written:
        out.print(f"wrote {path}", highlight=False, markup=False)


def parse_seeds(text: str) -> list[int]:
    """'42-51' -> 42..51; '42,45,50-51' -> [42, 45, 50, 51]; order kept, repeats dropped.

    Seeds are non-negative (numpy's rule); at most MAX_SEEDS in all, each a full replay.
    """
    seeds: dict[int, None] = {}
    for part in (p.strip() for p in text.split(",")):
        bounds = part.split("-", 1) if "-" in part else [part, part]
        if not all(b.isdigit() and len(b) <= 20 for b in bounds):
            raise InputError(
                f"--seeds: {part[:40]!r} is not a seed or a range of seeds",
                hint="write e.g. 42-51 or 42,45 (seeds are whole numbers from 0)",
            )
        low, high = int(bounds[0]), int(bounds[1])
        if low > high or high > MAX_SEED:
            raise InputError(f"--seeds: {part!r} is not a range from low to high")
        if high - low + 1 + len(seeds) > MAX_SEEDS:
            raise InputError(
                f"--seeds: more than {MAX_SEEDS:,} seeds; each is a full replay",
                hint="see docs/limits.md",
            )
        seeds.update(dict.fromkeys(range(low, high + 1)))
    return list(seeds)


def _choices(
    given: list[str], known: tuple[str, ...], groups: dict[str, tuple[str, ...]], what: str
) -> list[str]:
    chosen: list[str] = []
    for name in (n.strip() for item in given for n in item.split(",") if n.strip()):
        names = groups.get(name, (name,))
        for n in names:
            if n not in known:
                raise InputError(f"unknown {what} {n!r}", hint=f"choose from: {', '.join(known)}")
            if n not in chosen:
                chosen.append(n)
    if not chosen:
        raise InputError(f"no {what} given")
    return chosen


def _check_data(data_dir: Path, traces: list[str]) -> None:
    needed = [data_dir / GPU_NODE_FILE] + [pod_list_file(data_dir, t) for t in traces]
    missing = [p for p in needed if not p.is_file()]
    if missing:
        raise InputError(
            f"openb data not found: {', '.join(str(p) for p in missing[:3])}",
            hint=f"pass --data or set {DATA_ENV} to the folder with the openb CSV files",
        )


def _run(batch: list[Job], data_dir: Path, processes: int) -> list[JobResult]:
    columns = (
        *Progress.get_default_columns()[:1],
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task(f"replaying on {processes} process(es)", total=len(batch))
        return run_jobs(batch, data_dir, processes, lambda _: progress.advance(task))


def _table(
    trace: str, policies: list[str], mine: list[JobResult], published: Published | None
) -> Table:
    table = Table(title=f"openb {trace}: unallocated GPUs at arrived = {HEADLINE}% (mean ± sd)")
    for column in ("POLICY", "SEEDS", "GPUPLANE", "PUBLISHED", "DIFF (ALLOC)", "FAILED TASKS"):
        table.add_column(column, justify="right" if column != "POLICY" else "left")
    for p in policies:
        runs = [r for r in mine if r.job.policy == p]
        ours = summarize([v for r in runs if (v := r.run.alloc[HEADLINE]) is not None])
        theirs = summarize(published.at(trace, p, HEADLINE)) if published else None
        failed = sum(r.failed for r in runs) / max(1, len(runs))
        diff = f"{ours.mean - theirs.mean:+.2f} pp" if ours and theirs else "-"
        table.add_row(
            p, str(len(runs)), _unalloc(ours), _unalloc(theirs), diff, f"{failed:,.0f} / run"
        )
    return table


def _unalloc(s: Summary | None) -> str:
    return "-" if s is None else f"{100 - s.mean:.2f}% ± {s.sd:.2f}"
