"""Replay curves in the layout the FGD authors published, and the published files themselves.

The published files (`analysis_allo_discrete.csv`, `analysis_frag_discrete.csv`,
`analysis_frag_ratio_discrete.csv`) have one row per run: workload, sc_policy, tune, seed,
(total_gpus, in the allocation file only), then columns 0..130. Column k holds the metric at
the moment the GPU request of all tasks arrived so far is k% of the cluster's GPU capacity,
binned the way the authors' merge scripts bin it:

* each arrival's arrived ratio (percent of capacity) is rounded to a whole percent (half to
  even, as Python's round does); its allocation ratio (percent) is rounded to two decimals;
* column k averages the arrivals whose rounded ratio is k, or, if there are none, those
  within k-1..k+1, and is empty if there are none either;
* allocation: the mean of the rounded ratios, rounded to two decimals; fragmentation amount:
  100 x mean fragmented milli-GPU / 1000 / GPUs, rounded to two decimals; fragmentation
  ratio: the mean of the per-arrival ratios, not rounded.
"""

from __future__ import annotations

import csv
import io
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gpuplane.errors import InputError, Location
from gpuplane.files import write_atomic
from gpuplane.sim.openb.replay import ReplayResult

COLUMNS = tuple(range(131))
ALLOC_FILE = "analysis_allo_discrete.csv"
FRAG_FILE = "analysis_frag_discrete.csv"
FRAG_RATIO_FILE = "analysis_frag_ratio_discrete.csv"
METRIC_FILES = {"alloc": ALLOC_FILE, "frag": FRAG_FILE, "frag_ratio": FRAG_RATIO_FILE}

#: gpuplane's profile names and the sc_policy names the published files use.
PAPER_POLICIES = {
    "random": "01-Random",
    "dotprod": "02-DotProd",
    "gpu-clustering": "03-GpuClustering",
    "gpu-packing": "04-GpuPacking",
    "best-fit": "05-BestFit",
    "fgd": "06-FGD",
}

Row = list[float | None]


@dataclass(frozen=True)
class Discrete:
    """One run binned to whole percent of arrived GPU request (index k = column k)."""

    trace: str
    policy: str
    seed: int
    tune: float
    total_gpus: int
    alloc: Row
    frag: Row
    frag_ratio: Row

    def metric(self, name: str) -> Row:
        row: Row = getattr(self, name)
        return row


def workload_name(trace: str) -> str:
    return f"openb_pod_list_{trace}"


def discrete(trace: str, result: ReplayResult) -> Discrete:
    """Bin one run's curves to columns 0..130 as the published files do."""
    gpus = result.total_gpus
    arrived = [round(x, 0) for x in (result.arrived_milli / gpus / 10).tolist()]
    alloc = [round(x, 2) for x in (result.used_milli / gpus / 10).tolist()]
    bins = np.array(arrived, dtype=np.float64)
    alloc_row: Row = []
    frag_row: Row = []
    ratio_row: Row = []
    for k in COLUMNS:
        picked = np.flatnonzero(bins == k)
        if picked.size == 0:
            picked = np.flatnonzero((bins >= k - 1) & (bins <= k + 1))
        if picked.size == 0:
            alloc_row.append(None)
            frag_row.append(None)
            ratio_row.append(None)
            continue
        alloc_row.append(round(float(np.mean([alloc[i] for i in picked])), 2))
        frag_row.append(round(100 * float(result.frag_milli[picked].mean()) / 1000 / gpus, 2))
        ratio_row.append(float(result.frag_ratio[picked].mean()))
    return Discrete(
        trace, result.policy, result.seed, result.tune, gpus, alloc_row, frag_row, ratio_row
    )


def write_results(runs: Iterable[Discrete], out_dir: str | Path) -> list[Path]:
    """Write the three files in the published layout; returns their paths."""
    ordered = sorted(runs, key=lambda d: (d.trace, PAPER_POLICIES.get(d.policy, d.policy), d.seed))
    return [
        write_atomic(Path(out_dir) / filename, _metric_csv(ordered, metric))
        for metric, filename in METRIC_FILES.items()
    ]


def _metric_csv(ordered: Sequence[Discrete], metric: str) -> str:
    handle = io.StringIO(newline="")
    writer = csv.writer(handle)
    head = ["workload", "sc_policy", "tune", "seed"]
    head += ["total_gpus"] if metric == "alloc" else []
    writer.writerow(head + [str(k) for k in COLUMNS])
    for d in ordered:
        meta: list[object] = [
            workload_name(d.trace),
            PAPER_POLICIES.get(d.policy, d.policy),
            d.tune,
            d.seed,
        ]
        meta += [d.total_gpus] if metric == "alloc" else []
        writer.writerow(meta + ["" if v is None else v for v in d.metric(metric)])
    return handle.getvalue()


@dataclass(frozen=True)
class Published:
    """The published rows of one metric: (trace, policy) -> seed -> row."""

    rows: Mapping[tuple[str, str], Mapping[int, Row]]

    def at(self, trace: str, policy: str, column: int) -> list[float]:
        """The values of every published seed at one column (seeds without a value skipped)."""
        runs = self.rows.get((trace, policy), {})
        return [v for seed in sorted(runs) if (v := runs[seed][column]) is not None]

    def runs(self, trace: str, policy: str) -> Mapping[int, Row]:
        return self.rows.get((trace, policy), {})


def read_published(path: str | Path) -> Published:
    """Read a published file (or one written by `write_results`) into rows by run."""
    path = Path(path)
    by_policy = {v: k for k, v in PAPER_POLICIES.items()}
    rows: dict[tuple[str, str], dict[int, Row]] = {}
    try:
        handle = path.open(newline="")
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", where=Location(str(path))) from None
    with handle:
        for line, record in enumerate(csv.DictReader(handle), start=2):
            try:
                trace = record["workload"].removeprefix("openb_pod_list_")
                policy = by_policy.get(record["sc_policy"], record["sc_policy"])
                seed = int(record["seed"])
                values = [_value(record.get(str(k))) for k in COLUMNS]
            except (KeyError, ValueError) as exc:
                raise InputError(
                    f"not a results row: {exc}", where=Location(str(path), line)
                ) from None
            rows.setdefault((trace, policy), {})[seed] = values
    return Published(rows)


def _value(text: str | None) -> float | None:
    return float(text) if text not in (None, "") else None


@dataclass(frozen=True)
class Summary:
    """Mean and sample standard deviation over seeds of one metric at one column."""

    mean: float
    sd: float
    n: int


def summarize(values: Sequence[float]) -> Summary | None:
    if not values:
        return None
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return Summary(statistics.fmean(values), sd, len(values))
