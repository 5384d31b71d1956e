"""Errors and user-supplied names print as plain text: no emoji codes, no markup, no 5 MB lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from gpuplane.errors import shorten

from helpers import REPO, run_cli

CLUSTER = REPO / "examples" / "cluster.yaml"


def pods(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "pods.yaml"
    path.write_text(body)
    return path


def test_a_location_line_100_is_not_an_emoji(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The error sits on line 100: rich's emoji codes once printed "pods.yaml:100:" as 💯.
    text = "\n" * 99 + "apiVersion: v1\nkind: Pod\nmetadata: {name: p, labels: {a: ':x:'}}\n"
    text += "spec: {containers: [{name: c, image: i, resources: {limits: {cpu: lots}}}]}\n"
    code, _, err = run_cli(capsys, monkeypatch, "place", "-c", CLUSTER, pods(tmp_path, text))
    assert code == 2
    assert "pods.yaml:103:" in err and "💯" not in err and "❌" not in err


def test_a_pod_name_like_markup_prints_as_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    body = """\
apiVersion: v1
kind: Pod
metadata: {name: "x[/]", namespace: "a[red]b"}
spec: {containers: [{name: c, image: i, resources: {limits: {nvidia.com/gpu: "1"}}}]}
"""
    code, out, err = run_cli(capsys, monkeypatch, "place", "-c", CLUSTER, pods(tmp_path, body))
    assert code == 0, err
    assert "a[red]b/x[/]" in out


def test_a_huge_value_is_shortened_in_the_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # An unknown kind is echoed back in a warning: 5 MB of it once went to the terminal.
    body = "apiVersion: v1\nkind: " + "Z" * 5_000_000 + "\nmetadata: {name: p}\n"
    code, _, err = run_cli(capsys, monkeypatch, "place", "-c", CLUSTER, pods(tmp_path, body))
    assert code == 0
    assert len(err) < 2_000 and "characters left out" in err and "pods.yaml:1:" in err


def test_shorten_keeps_both_ends_and_says_how_much_is_gone() -> None:
    assert shorten("short\nlines") == "short\nlines"
    long = "a" * 300 + "b" * 700
    cut = shorten(long, 400)
    assert cut.startswith("a" * 266) and cut.endswith("b" * 100)
    assert f"({1000 - 266 - 100:,} characters left out)" in cut
