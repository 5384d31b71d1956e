"""The CLI's argument parsing, fuzzed in-process: every run ends in exit 0 or 2, never a traceback.

Options are drawn from values that matter (paths that are files, folders, missing or inside a
file; numbers negative, huge, non-finite, not numbers; names that are markup) and from random
text. A refused run (exit 2) leaves the working folder as it was. Simulations stay tiny: the
options vary on the tests' tiny scenario, and a mutated scenario is run only when the reader
refuses it, so the run must be refused too.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fuzz_check import examples, files_in
from fuzz_inputs import EXAMPLES, NASTY_STRINGS, SEEDS, yaml_texts
from hypothesis import event, given
from hypothesis import strategies as st

from gpuplane.errors import InputError
from gpuplane.sim.twin.load import load_twin

from helpers import run_cli
from twin_helpers import tiny_scenario

NUMBERS = ["0", "1", "-1", "2", "-42", "1e30", "inf", "-inf", "nan", "0.001", "9" * 20]
TEXTS = st.sampled_from(NUMBERS + NASTY_STRINGS[:-1]) | st.text(max_size=10)
NODES = "sn,cpu_milli,memory_mib,gpu,model\nn0,32000,131072,2,T4\nn1,64000,262144,4,G2\n"
PODS = "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec\n" + "".join(
    f"t{i},2000,4096,{n},{m},\n" for i, (n, m) in enumerate([(1, 1000), (1, 500), (0, 0)] * 2)
)


def mostly(valid: list[str], other: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """One of `valid` three times in four, else `other` (so that runs get past the first check)."""
    return st.one_of(*[st.sampled_from(valid)] * 3, other)


def paths(work: Path) -> st.SearchStrategy[str]:
    """Where an option may point: fresh, existing file or folder, inside a file, odd names."""
    return st.sampled_from(
        [
            str(work / "new"),
            str(work / "new" / "deeper"),
            str(work / "a-file"),
            str(work / "a-file" / "inside"),
            str(work / "a-folder"),
            str(work / "missing.yaml"),
            "/dev/null",
            "",
            str(work / "x[/]"),
        ]
    )


def prepared(tmp_path: Path) -> Path:
    work = tmp_path / "work"
    if work.is_dir():
        shutil.rmtree(work)
    work.mkdir()
    (work / "a-file").write_text("not yaml: [", encoding="utf-8")
    (work / "a-folder").mkdir()
    return work


def exits_cleanly(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    work: Path,
    args: list[str],
) -> tuple[int, str]:
    """Run `gpuplane ARGS`: exit 0 or 2, no traceback, and nothing written when refused."""
    before = files_in(work)
    with monkeypatch.context() as patched:
        patched.chdir(work)  # default output folders (out, replay-openb) land here
        code, _, err = run_cli(capsys, patched, *args)
    event(f"exit {code}")
    assert code in (0, 2), (code, err[-2000:])
    assert "Traceback" not in err, err[-2000:]
    if code == 2:
        assert files_in(work) == before, err
    return code, err


def _options(draw: st.DrawFn, names: list[str], work: Path) -> list[str]:
    chosen: list[str] = []
    for name in draw(st.lists(st.sampled_from(names), max_size=4)):
        value = draw(paths(work) | TEXTS)
        chosen += [name, value]
    if draw(st.booleans()):
        chosen.insert(draw(st.integers(0, len(chosen))), draw(TEXTS))
    return chosen


@examples(25)
@given(data=st.data())
def test_place(
    data: st.DataObject,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    work = prepared(tmp_path)
    mutated = work / "pods.yaml"
    mutated.write_text(data.draw(yaml_texts(EXAMPLES / "workloads" / "01-nvidia-smi.yaml")))
    cluster = data.draw(st.sampled_from([str(EXAMPLES / "cluster.yaml"), str(SEEDS / "manifests.yaml")]) | paths(work))  # noqa: E501
    manifests = data.draw(st.sampled_from([str(EXAMPLES / "workloads"), str(mutated)]) | paths(work))  # noqa: E501
    args = ["place", "-c", cluster, manifests]
    args += _options(data.draw, ["--policy", "-c", "--context"], work)
    exits_cleanly(capsys, monkeypatch, work, args)


@examples(12)
@given(data=st.data())
def test_simulate_options(
    data: st.DataObject,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    work = prepared(tmp_path)
    scenario = tiny_scenario(work / "tiny")
    args = ["simulate", str(scenario), "-j", "1"]
    args += _options(data.draw, ["--seed", "--out", "--seed", "--jobs"], work)
    if data.draw(st.booleans()):
        args.append("--json")
    # One job (no worker processes) unless a refused value: -j 0, -1, text...
    for index, arg in enumerate(args):
        if arg in ("--jobs", "-j") and index + 1 < len(args) and args[index + 1].isdigit():
            args[index + 1] = "1"
    exits_cleanly(capsys, monkeypatch, work, args)


@examples(15)
@given(data=st.data())
def test_simulate_refused_scenario(
    data: st.DataObject,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    work = prepared(tmp_path)
    scenario = tiny_scenario(work / "tiny")
    scenario.write_text(data.draw(yaml_texts(scenario)), encoding="utf-8", errors="surrogatepass")
    try:
        load_twin(scenario)
    except InputError:
        code, err = exits_cleanly(
            capsys, monkeypatch, work, ["simulate", str(scenario), "-j", "1", "--out", "out"]
        )
        assert code == 2, err


@examples(20)
@given(data=st.data())
def test_replay_openb(
    data: st.DataObject,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    work = prepared(tmp_path)
    folder = work / "openb"
    folder.mkdir()
    (folder / "openb_node_list_gpu_node.csv").write_text(NODES)
    (folder / "openb_pod_list_default.csv").write_text(PODS)
    odd_seeds = st.sampled_from(["2-1", "-1", "1-100000000", "99999999999999999999", "1,,2"])
    traces = mostly(["default"], st.sampled_from(["paper", "cpu050", "default,default", ""]))
    policies = mostly(["fgd", "best-fit,random"], st.sampled_from(["tetris", "all"]) | TEXTS)
    args = ["replay", "openb", "--data", str(folder), "-j", "1"]
    args += ["--trace", data.draw(traces | TEXTS), "--policy", data.draw(policies)]
    args += ["--seeds", data.draw(mostly(["1", "1-2", "3,1"], odd_seeds | TEXTS))]
    args += ["--tune", data.draw(mostly(["1.3", "0.5", "100"], TEXTS))]
    args += ["-o", data.draw(mostly([str(work / "out")], paths(work)))]
    exits_cleanly(capsys, monkeypatch, work, args)


@examples(25)
@given(data=st.data())
def test_node_commands(
    data: st.DataObject,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    work = prepared(tmp_path)
    inventory = work / "inventory.yaml"
    inventory.write_text(data.draw(yaml_texts(SEEDS / "inventory.yaml")), errors="surrogatepass")
    config = work / "config.yaml"
    config.write_text(data.draw(yaml_texts(SEEDS / "plugin-config.yaml")), errors="surrogatepass")
    command = data.draw(st.sampled_from([["node", "labels"], ["node", "metrics"]]))
    args = [*command, "--backend", data.draw(mostly(["fake"], st.sampled_from(["nvml", "x"])))]
    args += ["--inventory", data.draw(mostly([str(inventory)], paths(work)))]
    if command[1] == "labels":
        args += ["--config", data.draw(mostly([str(config)], paths(work)))]
        if data.draw(st.booleans()):
            args += ["-o", data.draw(paths(work))]
    else:
        args += ["--pod-resources-socket", "none"]
    exits_cleanly(capsys, monkeypatch, work, args)
