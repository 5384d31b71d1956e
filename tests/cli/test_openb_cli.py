"""`gpuplane replay openb` end to end on a tiny trace: files, plot, table; bad input as exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from gpuplane.cli.replay import parse_seeds
from gpuplane.errors import InputError
from gpuplane.sim.openb.results import ALLOC_FILE, FRAG_FILE, FRAG_RATIO_FILE, read_published

from helpers import run_gpuplane as gpuplane

NODES = "sn,cpu_milli,memory_mib,gpu,model\nn0,32000,131072,2,T4\nn1,64000,262144,4,G2\n"
PODS = "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec\n" + "".join(
    f"t{i},{2000 + 1000 * (i % 3)},4096,{n},{m},\n"
    for i, (n, m) in enumerate([(1, 1000), (1, 500), (0, 0), (2, 1000), (1, 250), (1, 460)] * 2)
)



@pytest.fixture
def data(tmp_path: Path) -> Path:
    folder = tmp_path / "openb"
    folder.mkdir()
    (folder / "openb_node_list_gpu_node.csv").write_text(NODES)
    (folder / "openb_pod_list_default.csv").write_text(PODS)
    return folder


def test_replay_writes_published_layout_plot_and_table(data, tmp_path):
    out = tmp_path / "out"
    run = gpuplane(
        "replay", "openb", "--trace", "default", "--policy", "fgd,best-fit",
        "--seeds", "1-2", "--data", data, "--out", out, "--jobs", "1",
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    for name in (ALLOC_FILE, FRAG_FILE, FRAG_RATIO_FILE, "alloc_default.png"):
        assert (out / name).is_file(), name
    rows = read_published(out / ALLOC_FILE)
    assert sorted(rows.runs("default", "fgd")) == [1, 2]
    assert "unallocated GPUs at arrived = 100%" in run.stdout
    assert "fgd" in run.stdout and "best-fit" in run.stdout


def test_unknown_policy_and_missing_data_are_input_errors(data, tmp_path):
    run = gpuplane("replay", "openb", "--policy", "tetris", "--data", data)
    assert run.returncode == 2 and "unknown policy 'tetris'" in run.stderr
    assert "Traceback" not in run.stderr
    run = gpuplane("replay", "openb", "--trace", "cpu050", "--data", data)
    assert run.returncode == 2 and "openb data not found" in run.stderr


def test_seed_ranges():
    assert parse_seeds("42-51") == list(range(42, 52))
    assert parse_seeds("42,45, 50-51,45") == [42, 45, 50, 51]
    with pytest.raises(InputError):
        parse_seeds("42-x")
    with pytest.raises(InputError):
        parse_seeds("51-42")
