"""Running variants: deterministic and parallel, the probe's figures agree with the simulator's,
costs follow prices, and the table, the HTML report and --json show the same numbers."""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gpuplane.sim.twin.comparison import COLUMNS, as_json, comparison_rows, formatted_rows
from gpuplane.sim.twin.load import load_twin
from gpuplane.sim.twin.report import ReportInfo, render_report
from gpuplane.sim.twin.run_variants import VariantResult, run_variants

from twin_helpers import tiny_scenario


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_scenario(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="module")
def results(tiny: Path) -> list[VariantResult]:
    return run_variants(load_twin(tiny).variants, jobs=1)


def info(results: list[VariantResult]) -> ReportInfo:
    return ReportInfo("t", "d", "scenario.yaml", 3, 6 * 3600.0, results[0].report.submitted, 1.0)


def test_parallel_runs_give_the_same_results_as_one_at_a_time(
    tiny: Path, results: list[VariantResult]
) -> None:
    progress: list[tuple[int, float]] = []

    class Listener:
        def started(self) -> None:
            progress.append((-1, 0.0))

        def progress(self, index: int, done: float) -> None:
            progress.append((index, done))

    parallel = run_variants(load_twin(tiny).variants, jobs=2, listener=Listener())
    assert comparison_rows(parallel) == comparison_rows(results)
    assert progress[0] == (-1, 0.0)
    assert {i for i, _ in progress[1:]} == {0, 1, 2}, "every variant reports progress"
    assert max(d for _, d in progress) == 1.0


def test_probe_gpu_hours_match_the_simulators(results: list[VariantResult]) -> None:
    for r in results:
        by_pool = sum(p.gpu_hours for p in r.pools)
        assert by_pool == pytest.approx(r.report.gpu_hours_used, rel=1e-9)
        assert r.cost == pytest.approx(sum(p.gpu_hours * p.pool.price for p in r.pools))
        hours = r.horizon / 3600
        bill = sum(p.pool.gpus * p.pool.price for p in r.pools) * hours
        assert r.capacity_cost == pytest.approx(bill)


def test_busy_gpu_follows_the_kinds_utilization(results: list[VariantResult]) -> None:
    exclusive, shared, _ = results
    # Every kind keeps half of a whole GPU busy; on whole GPUs that is half of what is held.
    assert exclusive.busy_gpu_hours == pytest.approx(0.5 * exclusive.report.gpu_hours_used)
    # Four time-sliced replicas hold a quarter of a GPU each but may use more of it.
    assert shared.busy_gpu_hours > 0.5 * shared.report.gpu_hours_used


def test_time_slicing_holds_fewer_gpu_hours_for_the_same_work(
    results: list[VariantResult],
) -> None:
    exclusive, shared, _ = results
    assert shared.report.finished >= exclusive.report.finished
    assert shared.report.gpu_hours_used < exclusive.report.gpu_hours_used
    assert shared.cost < exclusive.cost


def test_spot_capacity_costs_less_and_is_interrupted(
    tiny: Path, results: list[VariantResult]
) -> None:
    a100 = {r.name: next(p for p in r.pools if p.pool.name == "a100") for r in results}
    assert a100["spot"].capacity_cost == pytest.approx(a100["exclusive"].capacity_cost * 0.35)
    failures = load_twin(tiny).variants[2].failures
    assert failures and all(f.spot and f.node.startswith("a100-") for f in failures)


def test_the_busiest_moment_is_the_peak_of_allocation(results: list[VariantResult]) -> None:
    for r in results:
        assert r.busiest is not None
        peak = max(r.report.series.allocated_milli)
        assert round(1000 * float(np.nansum(r.busiest.share))) == peak
        assert r.busiest.share.shape[0] == len(r.busiest.nodes)


def test_waits_count_workloads_still_waiting(results: list[VariantResult]) -> None:
    for r in results:
        assert len(r.waits) == r.report.submitted - r.report.rejected
        assert min(r.waits) >= 0


def test_the_html_table_shows_the_numbers_of_the_terminal_table_and_json(
    results: list[VariantResult],
) -> None:
    document = render_report(info(results), results)
    table = re.search(r'<table id="comparison">(.*?)</table>', document, re.S)
    assert table is not None
    headers = [html.unescape(h) for h in re.findall(r"<th\b[^>]*>(.*?)</th>", table.group(1))]
    assert headers == [c.header for c in COLUMNS]
    body = re.findall(r"<tr>(.*?)</tr>", table.group(1).split("<tbody>")[1], re.S)
    cells = [[html.unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row)] for row in body]
    rows = comparison_rows(results)
    assert cells == formatted_rows(rows)
    # --json carries the raw values; formatted, they are the very same cells.
    data = json.loads(json.dumps(as_json(results)))
    again = [[c.format(v if v is not None else float("nan")) for c, v in
              zip(COLUMNS, (row[c.key] for c in COLUMNS), strict=True)] for row in data["variants"]]
    assert again == cells


def test_the_report_is_self_contained(results: list[VariantResult]) -> None:
    document = render_report(info(results), results)
    plots = re.findall(r'<img class="plot" [^>]*src="data:image/png;base64,', document)
    assert len(plots) == 4 + len(results)  # four comparisons, a heat map per variant
    # Outside the inlined images (whose base64 may spell anything), no URL of any kind.
    text = re.sub(r"(?<=data:image/png;base64,)[A-Za-z0-9+/=]+", "", document)
    assert text.count("data:") == len(plots)
    assert not re.search(r'https?:|//|\bsrc="(?!data:image/png;base64,")|\burl\(|@import', text)
    assert "<script" not in text and "<link" not in text


def test_cli_json(tiny: Path, tmp_path: Path, results: list[VariantResult]) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "gpuplane", "simulate", str(tiny), "--json", "--out",
         str(tmp_path), "--jobs", "1"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert [v["variant"] for v in data["variants"]] == ["exclusive", "shared", "spot"]
    assert Path(data["report"]).is_file()
    expected = json.loads(json.dumps(as_json(results)))["variants"]
    assert data["variants"] == expected
    # Each variant's control-plane metrics, as a scrape of the brain at the horizon would read.
    files = data["control_plane_metrics"]
    assert sorted(files) == ["exclusive", "shared", "spot"]
    for variant, result in zip(("exclusive", "shared", "spot"), results, strict=True):
        text = Path(files[variant]).read_text()
        admitted = sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("kueue_admitted_workloads_total{")
        )
        # Kueue counts every admission: a workload evicted and admitted again counts twice.
        report = result.report
        assert 0 < report.admitted <= admitted <= report.admitted + sum(report.evictions.values())
        assert "_created" not in text  # as Kueue exports them: no wall-clock series


def test_cli_seed_changes_the_workload(tiny: Path, tmp_path: Path) -> None:
    assert load_twin(tiny, seed=11).variants[0].workloads != load_twin(tiny).variants[0].workloads
