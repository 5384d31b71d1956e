"""Reading the openb trace: every variant into brain objects, bad rows named by file and line."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from gpuplane.catalog.labels import PRODUCT
from gpuplane.errors import InputError
from gpuplane.objects.gpu_request import GpuKind
from gpuplane.sim.openb.reader import (
    ALL_TRACES,
    GPU_NODE_FILE,
    openb_nodes,
    pod_list_file,
    read_openb_pods,
)

from helpers import OPENB_DATA, needs_openb

DATA = OPENB_DATA

POD_HEADER = "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase\n"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@needs_openb
def test_gpu_node_list_is_the_paper_cluster():
    nodes = openb_nodes(DATA / GPU_NODE_FILE)
    assert len(nodes) == 1213
    assert sum(n.gpu_count for n in nodes) == 6212
    assert sum(n.cpu_milli for n in nodes) == 107_018_000
    by_model = Counter()
    for n in nodes:
        by_model[n.labels[PRODUCT]] += n.gpu_count
    assert by_model["ALIBABA-G2"] == 4392 and by_model["Tesla-T4"] == 842
    assert by_model["Tesla-V100-SXM2-32GB"] == 204 and by_model["NVIDIA-A10"] == 2
    assert nodes[0].name == "openb-node-0000" and nodes[0].source.line == 2


@needs_openb
def test_all_node_list_includes_cpu_only_nodes():
    nodes = openb_nodes(DATA / "openb_node_list_all_node.csv")
    assert len(nodes) == 1523
    assert sum(1 for n in nodes if n.gpu_count == 0) == 310


@needs_openb
def test_default_pod_list_task_kinds():
    pods = read_openb_pods(pod_list_file(DATA, "default")).pods
    assert len(pods) == 8152
    kinds = Counter(
        "cpu"
        if p.gpu.kind is GpuKind.NONE
        else "share"
        if p.gpu.kind is GpuKind.FRACTION
        else f"{p.gpu.count}-gpu"
        for p in pods
    )
    expected = {"cpu": 1088, "share": 3078, "1-gpu": 3911, "2-gpu": 16, "4-gpu": 15, "8-gpu": 44}
    assert kinds == expected
    share = next(p for p in pods if p.gpu.kind is GpuKind.FRACTION)
    assert (share.gpu.count, share.gpu.memory_mib, share.gpu.memory_percent) == (1, None, None)
    total = sum(p.gpu.count * p.gpu.milli for p in pods)
    assert total == 6_086_800  # 6,086.8 GPUs: 98.0% of 6,212


@needs_openb
@pytest.mark.parametrize("trace", ALL_TRACES)
def test_every_variant_reads_without_a_bad_row(trace):
    read = read_openb_pods(pod_list_file(DATA, trace), skip_bad=True)
    assert read.skipped == () and len(read.pods) > 7000


@needs_openb
def test_gpu_spec_becomes_a_product_affinity_read_as_a_set():
    pods = read_openb_pods(pod_list_file(DATA, "gpuspec33")).pods
    constrained = [p for p in pods if p.affinity.required is not None]
    assert len(constrained) == 8152 - 5764
    values = {p.affinity.required[0].match_expressions[0].values for p in constrained}
    # 'V100M16|V100M32|V100M32' and 'V100M16|V100M32' are one set
    assert ("Tesla-V100-SXM2-16GB", "Tesla-V100-SXM2-32GB") in values
    assert all(len(set(v)) == len(v) for v in values)


@needs_openb
def test_multigpu_lists_have_five_columns_and_no_constraints():
    pods = read_openb_pods(pod_list_file(DATA, "multigpu50")).pods
    assert len(pods) == 9061
    assert all(p.affinity.required is None for p in pods)
    assert sum(1 for p in pods if p.gpu.count == 8) == 556


def test_bad_rows_name_file_line_and_column(tmp_path):
    path = write(
        tmp_path,
        "openb_pod_list_x.csv",
        POD_HEADER
        + "t0,1000,1024,1,500,,LS,Running\n"
        + "t1,1000,1024,1,abc,,LS,Running\n"  # line 3: not a number
        + "t2,1000,1024,2,500,,LS,Running\n"  # line 4: a share of two GPUs
        + "t3,1000,1024,1,1000,H800,LS,Running\n"  # line 5: unknown model
        + "t0,1000,1024,0,0,,LS,Running\n"  # line 6: name twice
        + "t4,1000,1024,0,0\n"  # line 7: too few fields
        + "t5,2000,2048,0,0,,BE,Running\n",
    )
    with pytest.raises(InputError) as caught:
        read_openb_pods(path)
    assert caught.value.where is not None
    assert (caught.value.where.line, caught.value.where.field) == (3, "gpu_milli")
    assert str(path) in str(caught.value)

    read = read_openb_pods(path, skip_bad=True)
    assert [p.name for p in read.pods] == ["t0", "t5"]
    lines = [(e.where.line, e.where.field) for e in read.skipped if e.where is not None]
    assert lines == [(3, "gpu_milli"), (4, "gpu_milli"), (5, "gpu_spec"), (6, "name"), (7, None)]
    assert "H800" in str(read.skipped[2])


def test_share_without_gpus_and_gpus_without_share_are_refused(tmp_path):
    for row in ("t,1000,1024,0,500,,LS,R\n", "t,1000,1024,1,0,,LS,R\n", "t,1000,1024,1,1200,,,\n"):
        with pytest.raises(InputError, match="gpu_milli"):
            read_openb_pods(write(tmp_path, "p.csv", POD_HEADER + row))


def test_a_missing_column_refuses_the_file(tmp_path):
    path = write(tmp_path, "p.csv", "name,cpu_milli,memory_mib,num_gpu\nt,1,1,0\n")
    with pytest.raises(InputError, match=r"missing column.*gpu_milli") as caught:
        read_openb_pods(path, skip_bad=True)
    assert caught.value.where is not None and caught.value.where.line == 1


def test_node_rows_are_checked(tmp_path):
    header = "sn,cpu_milli,memory_mib,gpu,model\n"
    good = "n0,32000,131072,2,T4\nn1,16000,65536,0,\n"
    nodes = openb_nodes(write(tmp_path, "n.csv", header + good))
    assert [(n.gpu_count, n.gpu_model) for n in nodes] == [(2, "Tesla-T4"), (0, None)]
    assert nodes[0].labels[PRODUCT] == "Tesla-T4" and nodes[0].gpu_memory_mib == 15360
    for bad, field in (
        ("n2,32000,1,2,\n", "model"),
        ("n2,32000,1,0,T4\n", "model"),
        ("n2,0,1,1,T4\n", "cpu_milli"),
        ("n2,32000,1,1,Z9\n", "model"),
        ("n0,32000,1,1,T4\n", "sn"),
    ):
        with pytest.raises(InputError) as caught:
            openb_nodes(write(tmp_path, "n.csv", header + good + bad))
        assert caught.value.where is not None
        assert (caught.value.where.line, caught.value.where.field) == (4, field)


def test_an_unreadable_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="no such file or directory"):
        read_openb_pods(tmp_path / "missing.csv")


def test_hostile_trace_files_are_input_errors_at_their_line(tmp_path):
    """Bytes that are not UTF-8, a NUL byte, a header without rows and numbers past every bound:
    each an InputError at its line (a traceback, or exit 0 with meaningless figures, before)."""
    row = "t0,1000,1024,1,500,,LS,Running\n"
    path = tmp_path / "p.csv"
    path.write_bytes((POD_HEADER + row).encode() + b"t\xff\xfe,1,1,0,0,,LS,R\n")
    with pytest.raises(InputError, match=r"p\.csv:3: is not UTF-8 text"):
        read_openb_pods(path)
    path.write_bytes((POD_HEADER + row).encode() + b"t1,1\x00,1,0,0,,LS,R\n")
    with pytest.raises(InputError, match=r"p\.csv:3: cpu_milli: must be a whole number"):
        read_openb_pods(path)
    with pytest.raises(InputError, match=r"p\.csv:1: the pod list has no tasks"):
        read_openb_pods(write(tmp_path, "p.csv", POD_HEADER))
    huge = "t1," + "9" * 27 + ",1024,0,0,,LS,Running\n"
    with pytest.raises(InputError, match=r"p\.csv:3: cpu_milli: must be at most .* 27 digits"):
        read_openb_pods(write(tmp_path, "p.csv", POD_HEADER + row + huge))
    nodes = "sn,cpu_milli,memory_mib,gpu,model\nn0,32000,131072,100000000,T4\n"
    with pytest.raises(InputError, match=r"n\.csv:2: gpu: must be between 0 and 64"):
        openb_nodes(write(tmp_path, "n.csv", nodes))
