"""The Dockerfile's structure (no Docker engine here): a wheel built in one stage, installed
into a slim Python 3.11 image that runs `gpuplane` as a non-root user."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def _instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [
        (word.upper(), rest.strip())
        for word, _, rest in (line.partition(" ") for line in lines if line and line[0] != "#")
    ]


def _final_stage() -> list[tuple[str, str]]:
    steps = _instructions()
    last_from = max(i for i, (word, _) in enumerate(steps) if word == "FROM")
    return steps[last_from:]


def test_multi_stage_wheel_build_into_slim_python_311() -> None:
    froms = [rest for word, rest in _instructions() if word == "FROM"]
    assert len(froms) >= 2
    assert all(f.split()[0] == "python:3.11-slim" for f in froms)
    final = _final_stage()
    copies = [rest for word, rest in final if word == "COPY"]
    assert any(c.startswith("--from=build") and ".whl" in c for c in copies)
    assert any("pip install" in rest and ".whl" in rest for word, rest in final if word == "RUN")


def test_runs_as_a_non_root_user() -> None:
    users = [rest for word, rest in _final_stage() if word == "USER"]
    assert users, "no USER: the image would run as root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")


def test_entrypoint_is_the_gpuplane_script() -> None:
    (entrypoint,) = [rest for word, rest in _final_stage() if word == "ENTRYPOINT"]
    assert json.loads(entrypoint) == ["gpuplane"]
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert "gpuplane" in scripts


def test_dockerignore_keeps_what_the_build_copies() -> None:
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".git", ".venv", "tests"} <= ignored
    copied = {
        part
        for word, rest in _instructions()
        if word == "COPY" and not rest.startswith("--from")
        for part in rest.split()[:-1]
    }
    assert copied == {"pyproject.toml", "README.md", "src"}
    assert not copied & ignored
