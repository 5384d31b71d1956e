"""Plots of replay results: GPU allocation against arrived workload, one line per policy.

Drawn as the paper's Fig. 9(a) is: the median over seeds with the 25-75% band. Published runs,
when given, are drawn dashed in the same colour, so a reader sees at a glance where the
reproduction departs from them. Rendering uses matplotlib's Agg backend (no display needed).
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from gpuplane.files import write_atomic
from gpuplane.sim.openb.results import COLUMNS, PAPER_POLICIES, Row


def _band(rows: Sequence[Row]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    data = np.array([[np.nan if v is None else v for v in row] for row in rows], dtype=float)
    q25, median, q75 = np.full((3, data.shape[1] if data.ndim == 2 else 0), np.nan)
    # A column no run reached stays NaN (a gap in the plot), without numpy's warning about it.
    seen = ~np.isnan(data).all(axis=0) if data.size else np.zeros(0, dtype=bool)
    if seen.any():
        q25[seen], median[seen], q75[seen] = np.nanpercentile(data[:, seen], [25, 50, 75], axis=0)
    return q25, median, q75


def plot_allocation(
    title: str,
    runs: Mapping[str, Sequence[Row]],
    path: str | Path,
    published: Mapping[str, Sequence[Row]] | None = None,
) -> Path:
    """Write a PNG of allocation (%) against arrived GPU request (%) for each policy."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = np.array(COLUMNS, dtype=float)
    # Left: the whole run; right: where the policies part (the cluster fills up).
    fig, axes = plt.subplots(1, 2, figsize=(12.0, 5.0), dpi=120)
    try:
        for ax, (x_low, y_low) in zip(axes, ((0, 0), (70, 75)), strict=True):
            for i, (policy, rows) in enumerate(runs.items()):
                if not rows:
                    continue
                colour = f"C{i}"
                low, median, high = _band(rows)
                ax.plot(x, median, color=colour, label=f"{policy} (gpuplane)")
                ax.fill_between(x, low, high, color=colour, alpha=0.2, linewidth=0)
                theirs = (published or {}).get(policy)
                if theirs:
                    label = f"{PAPER_POLICIES.get(policy, policy)} (published)"
                    dashed = {"color": colour, "linestyle": "--", "linewidth": 1}
                    ax.plot(x, _band(theirs)[1], label=label, **dashed)
            ax.plot(x, x, color="grey", linewidth=0.8, linestyle=":", label="arrived = allocated")
            ax.set_xlim(x_low, 130)
            ax.set_ylim(y_low, 100)
            ax.set_xlabel("Arrived GPU request (% of cluster GPUs)")
            ax.set_ylabel("GPU allocation (% of cluster GPUs)")
            ax.grid(alpha=0.3)
        axes[1].legend(fontsize=7, loc="lower right")
        fig.suptitle(title)
        png = io.BytesIO()
        fig.savefig(png, format="png", bbox_inches="tight")
        out = write_atomic(path, png.getvalue())
    finally:
        plt.close(fig)
    return out
