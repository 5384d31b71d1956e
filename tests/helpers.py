"""Small builders for tests (nodes and pods without YAML), and where test inputs live."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gpuplane.catalog import lookup
from gpuplane.cluster import ClusterState
from gpuplane.errors import InputError
from gpuplane.objects import read_text
from gpuplane.objects.gpu_request import GpuKind, GpuRequest
from gpuplane.objects.node import Node
from gpuplane.objects.pod import Pod
from gpuplane.objects.scheduling import Taint, Toleration
from gpuplane.sharing import GpuSharing, NodeSharing, SharingKind, gfd_labels

#: The tests folder, the repository, and the research data beside the repository (../shared).
TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
EXAMPLES = REPO / "examples"
OPENB_DATA = Path(os.environ.get("GPUPLANE_OPENB_DIR", REPO.parent / "shared" / "data" / "openb"))
#: Tests of the real trace skip only where the data folder is absent (CI has ../shared).
needs_openb = pytest.mark.skipif(
    not OPENB_DATA.is_dir(), reason=f"openb data not found at {OPENB_DATA}"
)

FRACTIONAL = NodeSharing(GpuSharing(SharingKind.FRACTIONAL))

GPU_TAINT = Taint("nvidia.com/gpu", "present")
TOLERATE_GPU = Toleration("nvidia.com/gpu", "Exists")


def gpu_node(name: str, gpus: int = 8, model: str = "NVIDIA-A100-SXM4-80GB", **kw: Any) -> Node:
    m = lookup(model)
    labels = {"kubernetes.io/hostname": name, **gfd_labels(m, gpus), **kw.pop("labels", {})}
    return Node(
        name=name,
        cpu_milli=kw.pop("cpu_milli", 96_000),
        memory_mib=kw.pop("memory_mib", 1_048_576),
        gpu_count=gpus,
        gpu_model=m.product,
        gpu_memory_mib=m.memory_mib,
        labels=labels,
        **kw,
    )


def cpu_node(name: str, **kw: Any) -> Node:
    labels = {"kubernetes.io/hostname": name, **kw.pop("labels", {})}
    return Node(
        name=name,
        cpu_milli=kw.pop("cpu_milli", 32_000),
        memory_mib=kw.pop("memory_mib", 131_072),
        labels=labels,
        **kw,
    )


def whole(count: int) -> GpuRequest:
    return GpuRequest(GpuKind.WHOLE, count=count, milli=1000, resource="nvidia.com/gpu")


def fraction(milli: int, memory_mib: int | None = None, count: int = 1) -> GpuRequest:
    return GpuRequest(GpuKind.FRACTION, count=count, milli=milli, memory_mib=memory_mib)


def pod(name: str, gpu: GpuRequest | None = None, **kw: Any) -> Pod:
    kw.setdefault("cpu_milli", 1000)
    kw.setdefault("memory_mib", 1024)
    if gpu is not None:
        kw["gpu"] = gpu
    return Pod(name=name, **kw)


def state_snapshot(state: ClusterState, *, versions: bool = True) -> dict[str, Any]:
    """Everything reserve, release or a trial could touch, copied so later changes cannot alias it.

    `versions=False` leaves out the change stamps (node_version, changes), which move on every
    change by design: for "release undoes reserve" rather than "a trial leaves no trace".
    """
    arrays = {k: v.copy() for k, v in vars(state).items() if isinstance(v, np.ndarray)}
    if not versions:
        arrays.pop("node_version")
    return {
        "arrays": arrays,
        "mig": [list(d.items()) for d in state.mig_layouts],
        "devices": [list(ds) for ds in state.devices],
        "index": [list(d.items()) for d in state.device_index],
        "users": [list(d.items()) for d in state.device_users],
        "bindings": [(k, id(b), b) for k, b in state.bindings.items()],
        "log": list(state.mig_reconfigurations),
        "counters": (state.changes, state.generation) if versions else (state.generation,),
    }


def assert_same_state(before: dict[str, Any], after: dict[str, Any]) -> None:
    """Two `state_snapshot`s agree in every array (and dtype), layout, device and binding."""
    assert before["arrays"].keys() == after["arrays"].keys()
    for name, a in before["arrays"].items():
        b = after["arrays"][name]
        assert a.dtype == b.dtype and np.array_equal(a, b), name
    for key in ("mig", "devices", "index", "users", "bindings", "log", "counters"):
        assert before[key] == after[key], key


def line(text: str, needle: str, nth: int = 0) -> int:
    """The 1-based number of the `nth` line of `text` that contains `needle`."""
    return [i for i, row in enumerate(text.splitlines(), 1) if needle in row][nth]


def fails(text: str, file: str = "m.yaml") -> InputError:
    """The InputError that reading the manifests in `text` raises (the test fails if none)."""
    with pytest.raises(InputError) as err:
        read_text(text, file)
    return err.value


def run_gpuplane(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """`gpuplane ARGS` in a fresh interpreter, as a user's shell would run it (wide, no TTY)."""
    env = {"COLUMNS": "200", "PATH": "/usr/bin:/bin", "MPLBACKEND": "Agg"}
    if "PYTHONPATH" in os.environ:  # a worktree's own src/, ahead of the installed one
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    return subprocess.run(
        [sys.executable, "-m", "gpuplane", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def run_cli(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str | Path
) -> tuple[int, str, str]:
    """`gpuplane ARGS` in this process (fakes stay reachable): exit status, stdout, stderr."""
    from gpuplane.cli import main

    monkeypatch.setattr(sys, "argv", ["gpuplane", *map(str, args)])
    with pytest.raises(SystemExit) as exited:
        main()
    captured = capsys.readouterr()
    return int(exited.value.code or 0), captured.out, captured.err
