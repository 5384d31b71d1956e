"""`live` is a world: it may import the brain, never the twin or the CLI (DESIGN.md's arrows)."""

import ast
from pathlib import Path

import gpuplane.live

FORBIDDEN = ("gpuplane.sim", "gpuplane.cli", "gpuplane.advise")


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_live_never_imports_the_twin_or_the_cli() -> None:
    package = Path(gpuplane.live.__file__).parent
    modules = sorted(package.rglob("*.py"))
    assert len(modules) >= 4
    for module in modules:
        bad = {m for m in imported_modules(module) if m.startswith(FORBIDDEN)}
        assert not bad, f"{module.name} imports {sorted(bad)}"
        relative = [
            n
            for n in ast.walk(ast.parse(module.read_text()))
            if isinstance(n, ast.ImportFrom) and n.level
        ]
        assert all(n.level == 1 for n in relative), f"{module.name} reaches outside live relatively"
