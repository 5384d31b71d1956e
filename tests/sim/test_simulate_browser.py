"""The HTML report in a real browser: headless Chromium renders every plot and the table.

Debian's `chromium` is installed by `make test` (the Makefile's `chromium` target). Without it
this test is skipped, unless GPUPLANE_REQUIRE_CHROMIUM=1 (as `make test` sets) makes it fail.
Two Chromium starts: one screenshot of the report itself, one DOM dump of a copy that records,
once the page has loaded, the decoded size of every image and the laid-out size of the table.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from gpuplane.sim.twin.load import load_twin
from gpuplane.sim.twin.report import ReportInfo, write_report
from gpuplane.sim.twin.run_variants import run_variants

from twin_helpers import tiny_scenario

WINDOW = (1400, 3000)
# Runs after load: what the browser actually decoded and laid out, written into the DOM.
PROBE = """<script>
window.addEventListener("load", () => {
  for (const img of document.images) {
    const box = img.getBoundingClientRect();
    img.setAttribute("data-natural", img.naturalWidth + "x" + img.naturalHeight);
    img.setAttribute("data-box", Math.round(box.width) + "x" + Math.round(box.height));
  }
  const table = document.getElementById("comparison").getBoundingClientRect();
  const size = Math.round(table.width) + "x" + Math.round(table.height);
  document.body.setAttribute("data-table-box", size);
});
</script>"""


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("GPUPLANE_REQUIRE_CHROMIUM") == "1":
            pytest.fail("chromium is not installed; `make test` installs Debian's chromium")
        pytest.skip("chromium is not installed (make test installs it)")
    return found


def run_chromium(binary: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            f"--window-size={WINDOW[0]},{WINDOW[1]}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_report_renders_in_headless_chromium(tmp_path: Path) -> None:
    binary = chromium()
    twin = load_twin(tiny_scenario(tmp_path / "scenario"))
    results = run_variants(twin.variants, jobs=1)
    info = ReportInfo("tiny", "d", "scenario.yaml", 3, twin.base.horizon, 60, 1.0)
    report = write_report(tmp_path / "report.html", info, results)

    shot = tmp_path / "report.png"
    done = run_chromium(binary, tmp_path / "profile-1", f"--screenshot={shot}", report.as_uri())
    assert shot.is_file(), done.stderr[-2000:]
    import matplotlib.image

    pixels = np.asarray(matplotlib.image.imread(str(shot)))
    assert pixels.shape[:2] == (WINDOW[1], WINDOW[0])
    assert float(pixels.std()) > 0.05, "the screenshot is blank"

    probed = tmp_path / "probed.html"
    probed.write_text(
        report.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), "utf-8"
    )
    dom = run_chromium(binary, tmp_path / "profile-2", "--dump-dom", probed.as_uri()).stdout

    images = re.findall(r"<img [^>]*>", dom)
    assert len(images) == 4 + len(results), "four comparison plots and a heat map per variant"
    for img in images:
        natural = re.search(r'data-natural="(\d+)x(\d+)"', img)
        box = re.search(r'data-box="(\d+)x(\d+)"', img)
        width = re.search(r'\bwidth="(\d+)"', img)
        assert natural and box and width, img[:200]
        assert int(natural[1]) > 100 and int(natural[2]) > 100, "the PNG did not decode"
        assert int(box[1]) > 100 and int(box[2]) > 50, "the plot was not laid out"
        assert int(width[1]) == int(natural[1])
    table = re.search(r'<table id="comparison">.*?<tbody>(.*?)</tbody>', dom, re.S)
    assert table is not None
    rows = re.findall(r"<tr>(.*?)</tr>", table[1], re.S)
    assert len(rows) == len(results)
    names = [re.search(r"<td[^>]*>(.*?)</td>", row)[1] for row in rows]  # type: ignore[index]
    assert names == [r.name for r in results]
    table_box = re.search(r'data-table-box="(\d+)x(\d+)"', dom)
    assert table_box and int(table_box[1]) > 600 and int(table_box[2]) > 60
