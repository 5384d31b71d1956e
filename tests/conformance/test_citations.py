"""Every conformance module says where its cases come from: repository, path and commit.

A ported case is only worth something if it can be traced to the upstream file it came from;
this holds every module of tests/conformance to that (docs/conformance.md lists them).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

HERE = Path(__file__).parent
MODULES = sorted(p for p in HERE.glob("test_*.py") if p.name != Path(__file__).name)
REPOSITORY = re.compile(r"\b[\w.-]+/[\w.-]+\b")  # owner/name, e.g. kubernetes-sigs/kueue
COMMIT = re.compile(r"\b[0-9a-f]{7,40}\b")
UPSTREAM_FILE = re.compile(r"[\w./-]+\.(go|yaml|json|md)\b")


def test_there_are_conformance_modules() -> None:
    assert len(MODULES) >= 20


@pytest.mark.parametrize("module", MODULES, ids=lambda p: p.stem)
def test_the_module_cites_repository_path_and_commit(module: Path) -> None:
    doc = ast.get_docstring(ast.parse(module.read_text(encoding="utf-8"))) or ""
    assert REPOSITORY.search(doc), f"{module.name}: no upstream repository named"
    assert UPSTREAM_FILE.search(doc), f"{module.name}: no upstream file named"
    assert COMMIT.search(doc), f"{module.name}: no upstream commit named"
