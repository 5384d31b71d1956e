"""Every write is whole or not at all, never through a planted symlink; outputs checked up front."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gpuplane.errors import InputError
from gpuplane.files import output_folder, write_atomic

from helpers import run_cli


def test_a_write_replaces_a_planted_symlink_instead_of_writing_through_it(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    report = tmp_path / "out" / "report.html"
    report.parent.mkdir()
    report.symlink_to(victim)
    write_atomic(report, "<html></html>")
    assert victim.read_text() == "precious"
    assert not report.is_symlink() and report.read_text() == "<html></html>"


def test_a_failed_write_leaves_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "report.html"
    target.write_text("old report")

    def full_disk(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space"):
        write_atomic(target, "new report")
    assert target.read_text() == "old report"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_a_killed_writers_temporary_file_is_removed_by_the_next_write(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    stale = tmp_path / f".report.html.{dead.stdout.strip()}.abc123.gpuplane-tmp"
    stale.write_text("half a rep")
    mine = tmp_path / f".other.{os.getpid()}.xyz.gpuplane-tmp"  # a live writer's: kept
    mine.write_text("being written")
    write_atomic(tmp_path / "report.html", "whole")
    assert not stale.exists() and mine.exists()


def test_binary_content_is_written_as_is(tmp_path: Path) -> None:
    data = bytes(range(256))
    assert write_atomic(tmp_path / "a.png", data).read_bytes() == data


def test_output_folder_refuses_a_file_and_an_unwritable_folder(tmp_path: Path) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("")
    with pytest.raises(InputError, match="is a file, not a folder"):
        output_folder(a_file)
    with pytest.raises(InputError, match=r"file is a file, not a folder"):
        output_folder(a_file / "below")
    assert output_folder(tmp_path / "new" / "deeper") == tmp_path / "new" / "deeper"
    assert not (tmp_path / "new").exists()  # checked, not made
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    if os.access(locked, os.W_OK):  # root writes anywhere: nothing to refuse
        return
    with pytest.raises(InputError, match="not writable"):
        output_folder(locked)


def test_simulate_refuses_an_out_that_is_a_file_before_running(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    a_file = tmp_path / "out"
    a_file.write_text("not a folder")
    code, out, err = run_cli(capsys, monkeypatch, "simulate", "--out", a_file)
    assert code == 2
    assert f"{a_file}: --out: is a file, not a folder" in err
    assert out == "" and a_file.read_text() == "not a folder"
