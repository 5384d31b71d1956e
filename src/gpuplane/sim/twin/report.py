"""The HTML report of a comparison: one self-contained file, plots inlined, no URL anywhere.

It opens from disk in any browser without a network: CSS is inline, plots are PNG data URIs,
and there is no script. The comparison table is built from the same rows as the terminal
table and `--json` (`comparison.formatted_rows`).
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gpuplane.files import write_atomic
from gpuplane.sim.core.metrics import HOUR
from gpuplane.sim.twin import figures
from gpuplane.sim.twin.comparison import COLUMNS, best_cells, comparison_rows, formatted_rows
from gpuplane.sim.twin.run_variants import VariantResult

_CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d232a;
       margin: 0; background: #f6f7f9; }
main { max-width: 1280px; margin: 0 auto; padding: 24px 32px 48px; }
h1 { font-size: 24px; margin: 8px 0 4px; }
h2 { font-size: 18px; margin: 32px 0 8px; border-bottom: 1px solid #d8dde3; padding-bottom: 4px; }
p.lead { color: #4a5561; max-width: 960px; }
.meta { color: #5c6873; font-size: 13px; }
table { border-collapse: collapse; background: #fff; font-variant-numeric: tabular-nums; }
th, td { padding: 6px 10px; border-bottom: 1px solid #e3e7eb; text-align: right;
         white-space: nowrap; }
th { background: #eef1f4; font-size: 12px; letter-spacing: .02em; }
td:first-child, th:first-child { text-align: left; font-weight: 600; }
td.best { color: #0b6b3a; font-weight: 700; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; font-size: 13px; }
dt { font-weight: 600; }
dd { margin: 0; color: #4a5561; }
figure { margin: 12px 0 20px; background: #fff; padding: 12px; border: 1px solid #e3e7eb; }
figure img { display: block; max-width: 100%; height: auto; }
figcaption { color: #5c6873; font-size: 13px; margin-top: 6px; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(420px, 1fr)); gap: 12px; }
.grid figure { margin: 0; }
"""


@dataclass(frozen=True)
class ReportInfo:
    """What the report says about the run besides its results."""

    title: str
    description: str
    scenario_file: str
    seed: int
    horizon: float
    arrived: int
    wall_seconds: float


def write_report(path: str | Path, info: ReportInfo, results: Sequence[VariantResult]) -> Path:
    """Write the report to `path` (its folder is created, the file replaced whole)."""
    return write_atomic(path, render_report(info, results))


def render_report(info: ReportInfo, results: Sequence[VariantResult]) -> str:
    """The report as one HTML document."""
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(info.title)}</title><style>{_CSS}</style></head><body><main>",
        f"<h1>{e(info.title)}</h1>",
        f'<p class="lead">{e(info.description)}</p>',
        f'<p class="meta">{_meta(info, results)}</p>',
        "<h2>Comparison</h2>",
        _table(results),
        _legend(),
        "<h2>Variants</h2>",
        _variants(results),
        "<h2>GPU allocation over time</h2>",
        _figure(
            figures.allocation_over_time(results),
            "allocation",
            "Allocated GPU as a share of the cluster's capacity. A MIG slice or a time-sliced "
            "replica counts the share of its GPU it takes.",
        ),
        "<h2>Queue length over time</h2>",
        _figure(
            figures.queue_over_time(results),
            "queue",
            "Workloads submitted and not yet admitted (preempted ones count again).",
        ),
        "<h2>Queue wait distribution</h2>",
        _figure(
            figures.wait_distribution(results),
            "waits",
            "Share of workloads that waited at most a given time before admission; workloads "
            "still waiting at the end count with their wait so far.",
        ),
        "<h2>Cost by node pool</h2>",
        _figure(
            figures.cost_by_pool(results),
            "cost",
            "Bars: GPU-hours held on each pool x its price. Black mark: every GPU of the "
            "cluster over the whole horizon (the bill for having the nodes).",
        ),
        "<h2>The cluster at its busiest moment</h2>",
        '<div class="grid">',
        *(
            _figure(
                figures.heat_map(r),
                f"heatmap-{r.name}",
                f"{r.name}: each row a GPU node (CPU-only nodes left out), each cell a GPU, "
                "coloured by the share allocated when the cluster's allocation peaked "
                "(grey: no such GPU; x: unhealthy).",
            )
            for r in results
        ),
        "</div>",
        "</main></body></html>",
    ]
    return "\n".join(parts)


def _meta(info: ReportInfo, results: Sequence[VariantResult]) -> str:
    e = html.escape
    return (
        f"Scenario <code>{e(info.scenario_file)}</code> &middot; seed {info.seed} &middot; "
        f"{info.horizon / HOUR:g} simulated hours &middot; {info.arrived:,} workloads arrived "
        f"&middot; {len(results)} variants simulated in {info.wall_seconds:.1f} s"
    )


def _table(results: Sequence[VariantResult]) -> str:
    e = html.escape
    rows = comparison_rows(results)
    cells = formatted_rows(rows)
    best = best_cells(rows)
    head = "".join(f'<th title="{e(c.help)}">{e(c.header)}</th>' for c in COLUMNS)
    body = []
    for i, row in enumerate(cells):
        tds = "".join(
            f'<td class="best">{e(v)}</td>' if (i, j) in best else f"<td>{e(v)}</td>"
            for j, v in enumerate(row)
        )
        body.append(f"<tr>{tds}</tr>")
    return (
        f'<table id="comparison"><thead><tr>{head}</tr></thead><tbody>'
        f"{''.join(body)}</tbody></table>"
    )


def _legend() -> str:
    e = html.escape
    items = "".join(f"<dt>{e(c.header)}</dt><dd>{e(c.help)}</dd>" for c in COLUMNS[1:])
    return (
        f"<dl>{items}</dl>"
        '<p class="meta">Green: the best figure of a column. Figures cover the window from the '
        "first arrival to the end of the horizon.</p>"
    )


def _variants(results: Sequence[VariantResult]) -> str:
    e = html.escape
    items = "".join(
        f'<dt>{e(r.name)}</dt><dd>{e(r.description or "-")} <span class="meta">(placement: '
        f"{e(r.policy)}; simulated in {r.wall_seconds:.1f} s)</span></dd>"
        for r in results
    )
    return f"<dl>{items}</dl>"


def _figure(png: bytes, name: str, caption: str) -> str:
    e = html.escape
    data = base64.b64encode(png).decode("ascii")
    width, height = _png_size(png)
    return (
        f'<figure><img class="plot" id="plot-{e(name)}" alt="{e(caption)}" width="{width}" '
        f'height="{height}" src="data:image/png;base64,{data}"><figcaption>'
        f"{e(caption)}</figcaption></figure>"
    )


def _png_size(png: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
