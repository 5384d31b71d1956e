"""The report's plots, drawn with matplotlib's Agg backend and returned as PNG bytes.

PNG rather than SVG: an inline SVG carries XML namespace URLs, and the report promises to hold
no URL at all. Every figure uses the same colour per variant, in variant order.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from gpuplane.sim.core.metrics import HOUR
from gpuplane.sim.twin.run_variants import VariantResult

DPI = 110
#: Colour-blind-safe (Okabe-Ito), enough for eight variants.
COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig: Any) -> bytes:
    buffer = io.BytesIO()
    # No metadata: the default names matplotlib's web site inside the file.
    fig.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight", metadata={"Software": None})
    _pyplot().close(fig)
    return buffer.getvalue()


def colour(i: int) -> str:
    return COLOURS[i % len(COLOURS)]


def allocation_over_time(results: Sequence[VariantResult]) -> bytes:
    """Allocated GPU as a share of capacity, per variant, over the simulated hours."""
    return _over_time(
        results,
        lambda r: (
            100.0
            * np.asarray(r.report.series.allocated_milli, dtype=np.float64)
            / (1000 * r.capacity_gpus)
        ),
        ylabel="GPU allocated (% of capacity)",
        ylim=(0, 100),
    )


def queue_over_time(results: Sequence[VariantResult]) -> bytes:
    """Workloads waiting for admission, per variant, over the simulated hours."""
    return _over_time(
        results,
        lambda r: np.asarray(r.report.series.pending, dtype=np.float64),
        ylabel="workloads waiting",
        ylim=(0, None),
    )


def _over_time(
    results: Sequence[VariantResult],
    values: Callable[[VariantResult], npt.NDArray[np.float64]],
    ylabel: str,
    ylim: tuple[float, float | None],
) -> bytes:
    """A step line per variant: each value holds from its instant to the next one."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(9.5, 3.8))
    for i, r in enumerate(results):
        s = r.report.series
        if not s.times:
            continue
        t = np.append(np.asarray(s.times), r.report.end) / HOUR
        y = values(r)
        ax.step(t, np.append(y, y[-1]), where="post", color=colour(i), lw=1.3, label=r.name)
    ax.set(xlabel="hour", ylabel=ylabel, ylim=ylim)
    _over_hours(ax, results)
    _legend(ax)
    return _png(fig)


def wait_distribution(results: Sequence[VariantResult]) -> bytes:
    """The share of workloads that waited at most x, per variant (x from 1 minute on, log)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(9.5, 3.8))
    longest = max((max(r.waits, default=0.0) for r in results), default=0.0)
    for i, r in enumerate(results):
        if not r.waits:
            continue
        minutes = np.sort(np.asarray(r.waits)) / 60.0
        share = np.arange(1, minutes.size + 1) / minutes.size * 100
        # Waits under a minute sit at the left edge: most workloads start at once.
        ax.step(
            np.maximum(minutes, 1.0), share, where="post", color=colour(i), lw=1.3, label=r.name
        )
    ax.set_xscale("log")
    ax.set(
        xlabel="queue wait (minutes, log scale; under a minute shown at 1)",
        ylabel="workloads that waited at most this long (%)",
        ylim=(0, 100),
        xlim=(1, max(2.0, longest / 60.0 * 1.2)),
    )
    ax.grid(alpha=0.3)
    _legend(ax)
    return _png(fig)


def cost_by_pool(results: Sequence[VariantResult]) -> bytes:
    """What each variant's GPU-hours cost, stacked by node pool, with the cluster's bill."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(9.5, 3.8))
    pools = list(dict.fromkeys(p.pool.name for r in results for p in r.pools if p.pool.gpus))
    x = np.arange(len(results))
    bottom = np.zeros(len(results))
    cmap = plt.get_cmap("tab20")
    for k, name in enumerate(pools):
        heights = np.array([sum(p.cost for p in r.pools if p.pool.name == name) for r in results])
        ax.bar(x, heights, 0.55, bottom=bottom, color=cmap(k % 20), label=name)
        bottom += heights
    bill = [r.capacity_cost for r in results]
    ax.scatter(x, bill, marker="_", s=900, color="black", zorder=3, label="cluster cost")
    currency = results[0].currency if results else "USD"
    ax.set(ylabel=f"{currency} over the horizon", xticks=x)
    ax.set_xticklabels([r.name for r in results])
    ax.set_ylim(0, max([*bill, *bottom, 1.0]) * 1.1)
    ax.grid(axis="y", alpha=0.3)
    _legend(ax)
    return _png(fig)


def heat_map(result: VariantResult) -> bytes:
    """Every GPU's allocated share at the variant's busiest moment: a row per GPU node."""
    plt = _pyplot()
    snap = result.busiest
    if snap is None or np.isnan(snap.share).all():
        fig, ax = plt.subplots(figsize=(4.2, 1.5))
        ax.text(0.5, 0.5, "no GPU was ever allocated", ha="center", va="center")
        ax.set_axis_off()
        return _png(fig)
    rows = np.flatnonzero(~np.isnan(snap.share).all(axis=1))
    share = snap.share[rows]
    healthy = snap.healthy[rows]
    nodes = [snap.nodes[i] for i in rows]
    pools = [snap.pools[i] for i in rows]
    width = share.shape[1]
    fig, ax = plt.subplots(figsize=(4.2 + 0.25 * width, 1.2 + 0.16 * len(rows)))
    cmap = plt.get_cmap("viridis").with_extremes(bad="#dddddd")
    image = ax.imshow(
        np.ma.masked_invalid(share),
        aspect="auto",
        cmap=cmap,
        vmin=0,
        vmax=1,
        interpolation="nearest",
    )
    for i, j in zip(*np.nonzero(~healthy & ~np.isnan(share)), strict=True):
        ax.text(j, i, "x", ha="center", va="center", color="red", fontsize=7)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(nodes, fontsize=6)
    ax.set_xticks(range(width))
    ax.set_xlabel("GPU index")
    # A line between node pools, so each pool reads as a block.
    for i in range(1, len(rows)):
        if pools[i] != pools[i - 1]:
            ax.axhline(i - 0.5, color="white", lw=1.5)
    hour, minutes = divmod(round(snap.time / 60), 60)
    ax.set_title(
        f"{result.name}: {np.nansum(share):.1f} of {result.capacity_gpus} GPUs allocated "
        f"at {hour}h{minutes:02d}",
        fontsize=9,
    )
    bar = fig.colorbar(image, ax=ax, fraction=0.05, pad=0.02)
    bar.set_label("allocated share of the GPU", fontsize=8)
    return _png(fig)


def _over_hours(ax: Any, results: Sequence[VariantResult]) -> None:
    horizon = max((r.horizon for r in results), default=1.0) / HOUR
    ax.set_xlim(0, horizon)
    ax.set_xticks(np.arange(0, horizon + 1e-9, 3 if horizon > 12 else 1))
    ax.grid(alpha=0.3)


def _legend(ax: Any) -> None:
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=8)
