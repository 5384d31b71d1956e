"""The sharing package depends on catalog and errors only, and catalog on errors only.

Imports are read with `ast` from the source files, so lazy imports inside functions and
imports under TYPE_CHECKING count too (catalog once hid an import of objects that way).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import gpuplane

SRC = Path(gpuplane.__file__).parent


def gpuplane_imports(path: Path, src: Path = SRC) -> set[str]:
    """Every gpuplane module a file below `src` imports, anywhere in it, relative ones resolved."""
    package = ".".join(path.relative_to(src.parent).with_suffix("").parts)
    if path.name == "__init__.py":
        package = package.removesuffix(".__init__")
    else:
        package = package.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.add(module)
    return {m for m in found if m == "gpuplane" or m.startswith("gpuplane.")}


def within(module: str, allowed: tuple[str, ...]) -> bool:
    return any(module == a or module.startswith(a + ".") for a in allowed)


def modules(package: str) -> list[Path]:
    return sorted((SRC / package).rglob("*.py"))


@pytest.mark.parametrize(
    ("package", "allowed"),
    [
        ("sharing", ("gpuplane.sharing", "gpuplane.catalog", "gpuplane.errors")),
        ("catalog", ("gpuplane.catalog", "gpuplane.errors")),
    ],
)
def test_package_imports_only_what_it_may(package: str, allowed: tuple[str, ...]) -> None:
    assert modules(package), f"no modules found under {SRC / package}"
    wrong = {
        f"{path.relative_to(SRC)} imports {module}"
        for path in modules(package)
        for module in gpuplane_imports(path)
        if not within(module, allowed)
    }
    assert not wrong, sorted(wrong)


def test_the_import_reader_sees_lazy_and_relative_imports(tmp_path: Path) -> None:
    # The rules above are only as good as this reader: it must not miss the ways code hides
    # an import (catalog once imported objects lazily, under TYPE_CHECKING and in a function).
    probe = tmp_path / "gpuplane" / "catalog" / "probe.py"
    probe.parent.mkdir(parents=True)
    probe.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from gpuplane.objects.pod import Pod\n"
        "def f():\n    import gpuplane.cluster.state\n    from ..placement import scheduler\n"
        "from . import models\n",
        encoding="utf-8",
    )
    found = gpuplane_imports(probe, tmp_path / "gpuplane")
    assert found == {
        "gpuplane.objects.pod",
        "gpuplane.cluster.state",
        "gpuplane.placement",
        "gpuplane.catalog",
    }
