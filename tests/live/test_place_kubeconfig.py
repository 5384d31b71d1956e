"""`place --kubeconfig` answers what `place` answers on files of the same objects."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from fakeapi import FakeApiServer
from snapshot_helpers import H100, L4, container, node, put, serve_snapshot_kinds

from helpers import run_cli

NODES = [
    node("a-h100", {**H100}, gpus=8),
    node("b-h100", {**H100}, gpus=8),
    node("c-l4", {**L4}, gpus=2),
]


def _pod(name: str, gpus: int, node_name: str | None = None) -> dict[str, object]:
    spec: dict[str, object] = {"containers": [container(gpus)]}
    if node_name:
        spec["nodeName"] = node_name
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
            "spec": spec, "status": {"phase": "Running" if node_name else "Pending"}}


BOUND = [_pod("held-0", 6, "a-h100"), _pod("held-1", 3, "b-h100"), _pod("held-2", 1, "c-l4")]
NEW = [_pod("new-0", 4), _pod("new-1", 2), _pod("new-2", 8), _pod("new-3", 1), _pod("new-4", 1)]


def _rows(text: str) -> list[tuple[str, ...]]:
    """The new pods' table rows (cells, whatever the column widths) and reasons."""
    return [
        tuple(cell.strip() for cell in line.split("│") if cell.strip())
        for line in text.splitlines()
        if "default/new-" in line
    ]


@pytest.mark.parametrize("policy", ["least-allocated", "fgd"])
def test_place_on_the_live_cluster_equals_place_on_its_files(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    policy: str,
) -> None:
    new = tmp_path / "new.yaml"
    new.write_text(yaml.safe_dump_all(NEW))
    nodes = tmp_path / "nodes.yaml"
    nodes.write_text(yaml.safe_dump_all(NODES))
    bound = tmp_path / "bound.yaml"
    bound.write_text(yaml.safe_dump_all(BOUND))
    with FakeApiServer(seed=2) as fake:
        serve_snapshot_kinds(fake)
        for obj in [*NODES, *BOUND]:
            put(fake, obj)
        kubeconfig = fake.write_kubeconfig(tmp_path / "kubeconfig")
        code, live, err = run_cli(
            capsys, monkeypatch, "place", new, "--kubeconfig", kubeconfig, "--policy", policy
        )
        assert code == 0, err
        assert {e.verb for e in fake.audit} == {"list"}
    code, files, err = run_cli(
        capsys, monkeypatch, "place", bound, new, "--cluster", nodes, "--policy", policy
    )
    assert code == 0, err
    assert len(_rows(live)) == len(NEW) + 1  # a row each, and the reason new-2 waits
    assert _rows(live) == _rows(files)
    # new-2 (8 GPUs) finds no whole H100 free: the held pods count.
    assert "Pending" in next(r for r in _rows(live) if r[0] == "default/new-2")


def test_place_needs_exactly_one_cluster(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    new = tmp_path / "new.yaml"
    new.write_text(yaml.safe_dump_all(NEW))
    code, _, err = run_cli(capsys, monkeypatch, "place", new)
    assert code == 2 and "--kubeconfig" in err
