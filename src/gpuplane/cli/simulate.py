"""`gpuplane simulate`: run a scenario's variants on the digital twin and compare them.

Without a scenario it runs the built-in one (`gpuplane/sim/twin/scenarios/default.yaml`). Every
variant is checked before any runs; they then run in parallel (one process per core) with a
progress bar each. The comparison is printed as a table (or as JSON with `--json`) and written,
with plots, to one self-contained HTML file.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import typer
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from gpuplane.cli.app import err, noted, out, plain
from gpuplane.errors import InputError, Location
from gpuplane.files import available_memory, output_folder, write_atomic
from gpuplane.limits import MAX_SEED
from gpuplane.sim.core.metrics import HOUR
from gpuplane.sim.twin.comparison import (
    COLUMNS,
    as_json,
    best_cells,
    comparison_rows,
    formatted_rows,
)
from gpuplane.sim.twin.estimate import run_bytes
from gpuplane.sim.twin.load import Twin, load_twin
from gpuplane.sim.twin.report import ReportInfo, write_report
from gpuplane.sim.twin.run_variants import VariantResult, run_variants


def register(app: typer.Typer) -> None:
    app.command("simulate")(simulate)


def simulate(
    scenario: Path | None = typer.Argument(
        None, help="Scenario YAML; without it, the built-in default scenario."
    ),
    out_dir: Path = typer.Option(Path("out"), "--out", help="Where to write the HTML report."),
    as_json_: bool = typer.Option(False, "--json", help="Print the comparison as JSON."),
    seed: int | None = typer.Option(
        None, "--seed", min=0, max=MAX_SEED, help="Override the scenario's seed."
    ),
    jobs: int | None = typer.Option(
        None, "--jobs", "-j", min=1, help="Variants run at once (default: one per core)."
    ),
    force: bool = typer.Option(
        False, "--force", help="Run even when the run would need more memory than is free."
    ),
    strict: bool = typer.Option(
        False, "--strict", help="Every warning is an error: exit 2 before running anything."
    ),
) -> None:
    """Run every variant of SCENARIO on a simulated cluster and compare them.

    What was read (objects by kind, what was skipped and why, workloads per queue) and what
    may make the result wrong are printed first on stderr.
    """
    began = time.perf_counter()
    output_folder(out_dir)  # checked now, not found wanting after the run
    twin = load_twin(scenario, seed=seed)
    noted(twin.summary, twin.warnings, strict=strict)
    if not force:
        _check_memory(twin, jobs)
    bars = _Bars(twin)
    try:
        results = run_variants(twin.variants, jobs=jobs, listener=bars)
    finally:
        bars.stop()
    wall = time.perf_counter() - began
    arrived = results[0].report.submitted if results else 0
    info = ReportInfo(
        title=f"gpuplane simulate: {twin.base.name}",
        description=twin.base.description,
        scenario_file=_shown(twin.file),
        seed=twin.base.seed,
        horizon=twin.base.horizon,
        arrived=arrived,
        wall_seconds=wall,
    )
    path = write_report(out_dir / f"{twin.base.name}-report.html", info, results)
    metrics = _write_metrics(out_dir, twin.base.name, results)
    if as_json_:
        document = as_json(
            results,
            scenario=info.scenario_file,
            seed=info.seed,
            horizon_seconds=info.horizon,
            arrived=arrived,
            report=str(path),
            control_plane_metrics={name: str(p) for name, p in metrics.items()},
        )
        # Plain text: a console could wrap a long line and break the JSON.
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
        return
    out.print(_table(twin, results, arrived))
    out.print(f"Report: {path}", highlight=False, markup=False, soft_wrap=True)
    shown = out_dir / f"{twin.base.name}-<variant>.prom"
    out.print(
        f"Control-plane metrics (Prometheus text): {shown}",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )


def _check_memory(twin: Twin, jobs: int | None) -> None:
    """Refuse, before it starts, a run that would need more memory than the machine has free."""
    workers = max(1, min(len(twin.variants), jobs or os.cpu_count() or 1))
    need = run_bytes(twin.variants, workers)
    free = available_memory()
    if free is not None and need > free:
        raise InputError(
            f"this run would need about {need / 2**30:.1f} GiB of memory "
            f"({len(twin.variants)} variants, {workers} at a time); "
            f"{free / 2**30:.1f} GiB is free",
            where=Location(_shown(twin.file)),
            hint="use fewer arrivals or variants, or --jobs 1; --force runs it anyway",
        )


def _write_metrics(out_dir: Path, name: str, results: list[VariantResult]) -> dict[str, Path]:
    """Each variant's control-plane metrics at the horizon, as a scrape would have read them."""
    paths = {}
    for r in results:
        path = out_dir / f"{name}-{r.name}.prom"
        paths[r.name] = write_atomic(path, r.control_plane_metrics)
    return paths


def _table(twin: Twin, results: list[VariantResult], arrived: int) -> Table:
    rows = comparison_rows(results)
    best = best_cells(rows)
    hours = twin.base.horizon / HOUR
    nodes = {len(v.nodes) for v in twin.variants}
    on = f"{nodes.pop()} nodes" if len(nodes) == 1 else "the variants' clusters"
    table = Table(
        title=f"{twin.base.name}: {arrived:,} workloads over {hours:g} h on {on}",
        caption="Green: best of the column. Waits count workloads still waiting at the end.",
    )
    for c in COLUMNS:
        # Two-line headers keep the table narrow enough for a 132-column terminal.
        header = c.header.replace(" ", "\n")
        table.add_column(header, justify="left" if c.key == "variant" else "right", no_wrap=True)
    for i, cells in enumerate(formatted_rows(rows)):
        table.add_row(
            *(plain(v, "bold green" if (i, j) in best else "") for j, v in enumerate(cells))
        )
    return table


def _shown(file: str) -> str:
    """The scenario path as the user would type it (the built-in one by its package path)."""
    path = Path(file)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        if "gpuplane/sim/twin/scenarios" in path.as_posix():
            return "built-in: gpuplane/sim/twin/scenarios/" + path.name
        return str(path)


class _Bars:
    """One progress bar per variant on stderr, started once the workers exist."""

    def __init__(self, twin: Twin) -> None:
        self.bars = Progress(
            TextColumn("{task.description}", style="bold"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}% of {task.fields[horizon]}"),
            TimeElapsedColumn(),
            console=err,
            transient=not err.is_terminal,
        )
        width = max((len(v.name) for v in twin.variants), default=0)
        horizon = f"{twin.base.horizon / HOUR:g} h"
        self.tasks: list[TaskID] = [
            self.bars.add_task(v.name.ljust(width), total=100.0, horizon=horizon)
            for v in twin.variants
        ]
        self.running = False

    def started(self) -> None:
        if err.is_terminal:
            self.bars.start()
            self.running = True

    def progress(self, index: int, done: float) -> None:
        self.bars.update(self.tasks[index], completed=100.0 * done)

    def stop(self) -> None:
        if self.running:
            for task in self.tasks:
                self.bars.update(task, completed=100.0)
            self.bars.stop()
            self.running = False
