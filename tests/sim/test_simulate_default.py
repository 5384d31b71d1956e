"""`gpuplane simulate` with no scenario: the built-in day, all six variants, end to end."""

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
    assert list(rows) == [
        "exclusive", "time-slicing", "mig", "fgd", "spot-training", "kueue-quota-only"
    ]
    assert Path(data["report"]).is_file()
    exclusive, sliced = rows["exclusive"], rows["time-slicing"]
    # The story: sharing GPUs among small work shortens its waits and holds fewer GPU-hours,
    # and spot capacity is cheaper but loses work to interruptions.
    assert sliced["wait_p95"] < exclusive["wait_p95"]
    assert sliced["gpu_hours"] < exclusive["gpu_hours"]
    assert rows["spot-training"]["cluster_cost"] < exclusive["cluster_cost"]
    assert rows["spot-training"]["lost_gpu_hours"] > exclusive["lost_gpu_hours"]
    # Kueue today (quota only) holds quota for gangs that cannot be placed yet; gpuplane's
    # placement check (every other variant) never does, and their pods run once admitted.
    quota_only = rows["kueue-quota-only"]
    assert quota_only["held_unplaced_gpu_hours"] > 100
    assert exclusive["held_unplaced_gpu_hours"] == 0
    assert quota_only["start_wait_p95"] > quota_only["wait_p95"]
    assert exclusive["start_wait_p95"] == exclusive["wait_p95"]
