"""`gpuplane simulate` with no scenario: the built-in day, all five variants, end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def test_the_default_scenario_runs_and_tells_its_story(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "gpuplane", "simulate", "--json", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    rows = {v["variant"]: v for v in data["variants"]}
    assert list(rows) == ["exclusive", "time-slicing", "mig", "fgd", "spot-training"]
    assert Path(data["report"]).is_file()
    exclusive, sliced = rows["exclusive"], rows["time-slicing"]
    # The story: sharing GPUs among small work shortens its waits and holds fewer GPU-hours,
    # and spot capacity is cheaper but loses work to interruptions.
    assert sliced["wait_p95"] < exclusive["wait_p95"]
    assert sliced["gpu_hours"] < exclusive["gpu_hours"]
    assert rows["spot-training"]["cluster_cost"] < exclusive["cluster_cost"]
    assert rows["spot-training"]["lost_gpu_hours"] > exclusive["lost_gpu_hours"]
