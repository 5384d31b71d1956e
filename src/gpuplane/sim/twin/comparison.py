"""The comparison of variants: one function builds the rows that the terminal table, the HTML
report and `--json` all show, so that the three can never disagree.

Columns and what they measure (over the window from the first arrival to the horizon):

* GPU ALLOC: allocated GPU over GPU capacity, time-averaged. A MIG slice or a time-sliced
  replica counts the share of the GPU it takes (a 2g.20gb slice 2/7, one of 4 replicas 1/4).
* GPU UTIL: busy GPU over capacity, time-averaged, from each kind's `utilization` (how much of
  a GPU's compute the work keeps busy); what DCGM's SM activity would average to.
* FRAG: free GPU that the workload's own requests could not use (FGD's F(M)), over capacity.
* WAIT P50/P95: from arrival to first admission; a workload still waiting at the end counts
  with the wait so far, so a variant cannot look good by never admitting anything.
* JCT P50: arrival to completion, of the workloads that finished.
* FINISHED: workloads that finished before the horizon.
* GPU-HOURS: GPU held by pods (as in GPU ALLOC), in hours.
* COST: each pool's GPU-hours held x its price per GPU-hour (spot discount applied): what the
  work costs where you pay for what you use.
* CLUSTER COST: every GPU of the cluster for the whole horizon x its price: the bill for
  owning or reserving the nodes.
* PREEMPTED: workloads evicted by preemption; LOST GPU-H: GPU-hours of work thrown away since
  the last checkpoint by preemptions, node failures and spot interruptions.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from gpuplane.sim.core.metrics import HOUR
from gpuplane.sim.twin.run_variants import VariantResult

Value = float | int | str
Better = Literal["low", "high"] | None


@dataclass(frozen=True)
class Column:
    key: str  # the JSON key
    header: str
    help: str
    unit: str  # of the JSON value
    better: Better
    format: Callable[[Value], str]


def _percent(v: Value) -> str:
    return f"{100 * float(v):.1f}%"


def _duration(v: Value) -> str:
    """Seconds as people read waits: 0s, 45s, 12m, 3h 05m."""
    s = float(v)
    if math.isnan(s):
        return "-"
    if s < 60:
        return f"{s:.0f}s"
    if s < HOUR:
        return f"{s / 60:.0f}m"
    hours, rest = divmod(round(s / 60), 60)
    return f"{hours}h {rest:02d}m"


def _count(v: Value) -> str:
    return f"{int(v):,}"


def _hours(v: Value) -> str:
    return f"{float(v):,.0f}"


def _money(v: Value) -> str:
    return f"${float(v):,.0f}"


def _text(v: Value) -> str:
    return str(v)


COLUMNS: tuple[Column, ...] = (
    Column("variant", "VARIANT", "the variant's name", "", None, _text),
    Column("gpu_allocation", "GPU ALLOC", "allocated GPU / capacity", "fraction", None, _percent),
    Column("gpu_utilization", "GPU UTIL", "busy GPU / capacity", "fraction", "high", _percent),
    Column("fragmentation", "FRAG", "unusable free GPU / capacity", "fraction", "low", _percent),
    Column("wait_p50", "WAIT P50", "median queue wait", "seconds", "low", _duration),
    Column("wait_p95", "WAIT P95", "95th percentile queue wait", "seconds", "low", _duration),
    Column(
        "start_wait_p95",
        "START P95",
        "95th percentile wait until the pods run",
        "seconds",
        "low",
        _duration,
    ),
    Column(
        "held_unplaced_gpu_hours",
        "IDLE QUOTA GPU-H",
        "GPU quota held by admitted workloads whose pods could not be placed",
        "GPU-hours",
        "low",
        _hours,
    ),
    Column("jct_p50", "JCT P50", "median job completion time", "seconds", "low", _duration),
    Column("finished", "FINISHED", "jobs finished", "jobs", "high", _count),
    Column("gpu_hours", "GPU-HOURS", "GPU-hours held by pods", "GPU-hours", None, _hours),
    Column("cost", "COST", "GPU-hours held x price", "USD", "low", _money),
    Column("cluster_cost", "CLUSTER COST", "all GPUs x horizon x price", "USD", "low", _money),
    Column("preemptions", "PREEMPTED", "workloads preempted", "workloads", "low", _count),
    Column("lost_gpu_hours", "LOST GPU-H", "work lost to evictions", "GPU-hours", "low", _hours),
)


def comparison_rows(results: Sequence[VariantResult]) -> list[dict[str, Value]]:
    """One row per variant, raw values keyed by column (the JSON form)."""
    return [_row(r) for r in results]


def _row(r: VariantResult) -> dict[str, Value]:
    rep = r.report
    span = rep.end - (rep.series.times[0] if rep.series.times else rep.end)
    capacity_hours = r.capacity_gpus * span / HOUR
    waits = np.asarray(r.waits, dtype=np.float64)
    wait50, wait95 = (
        (float(np.percentile(waits, 50)), float(np.percentile(waits, 95)))
        if waits.size
        else (math.nan, math.nan)
    )
    starts = np.asarray(r.start_waits, dtype=np.float64)
    start95 = float(np.percentile(starts, 95)) if starts.size else math.nan
    return {
        "variant": r.name,
        "gpu_allocation": rep.utilization,
        "gpu_utilization": r.busy_gpu_hours / capacity_hours if capacity_hours else 0.0,
        "fragmentation": (
            rep.mean_fragmentation_milli / (1000 * r.capacity_gpus) if r.capacity_gpus else 0.0
        ),
        "wait_p50": wait50,
        "wait_p95": wait95,
        "start_wait_p95": start95,
        "held_unplaced_gpu_hours": rep.gpu_hours_held_unplaced,
        "jct_p50": rep.jct.p50,
        "finished": rep.finished,
        "gpu_hours": rep.gpu_hours_used,
        "cost": r.cost,
        "cluster_cost": r.capacity_cost,
        "preemptions": rep.preemptions,
        "lost_gpu_hours": sum(rep.gpu_hours_lost.values()),
    }


def formatted_rows(rows: Sequence[dict[str, Value]]) -> list[list[str]]:
    """The rows as the terminal and the HTML report print them, cell by cell."""
    return [[c.format(row[c.key]) for c in COLUMNS] for row in rows]


def best_cells(rows: Sequence[dict[str, Value]]) -> set[tuple[int, int]]:
    """(row, column) of the best value of each column that has a better direction.

    Nothing is marked in a column where every variant has the same figure.
    """
    marked: set[tuple[int, int]] = set()
    for j, column in enumerate(COLUMNS):
        if column.better is None or len(rows) < 2:
            continue
        shown = [column.format(row[column.key]) for row in rows]
        if len(set(shown)) == 1:
            continue
        values = [float(row[column.key]) for row in rows]
        finite = [v for v in values if not math.isnan(v)]
        if not finite:
            continue
        best = min(finite) if column.better == "low" else max(finite)
        marked |= {(i, j) for i, v in enumerate(values) if shown[i] == column.format(best)}
    return marked


def as_json(results: Sequence[VariantResult], **extra: object) -> dict[str, object]:
    """The comparison for scripts: columns with units, rows of raw values, and `extra`."""
    rows = comparison_rows(results)
    clean = [
        {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
        for r in rows
    ]
    return {
        **extra,
        "columns": [
            {"key": c.key, "header": c.header, "help": c.help, "unit": c.unit} for c in COLUMNS
        ],
        "variants": clean,
    }
