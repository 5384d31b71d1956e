"""The Alibaba openb GPU trace (cluster-trace-gpu-v2023): node and pod lists as brain objects.

Node lists (`openb_node_list_gpu_node.csv`, `..._all_node.csv`) have the columns
sn, cpu_milli, memory_mib, gpu, model. Pod lists (`openb_pod_list_<trace>.csv`) have name,
cpu_milli, memory_mib, num_gpu, gpu_milli, gpu_spec and columns the experiments ignore (qos,
phase, times); the multigpu* lists have only the first five. gpu_milli is the share per GPU:
below 1000 a task shares one GPU, 1000 takes whole GPUs, 0 with num_gpu 0 is a CPU-only task.
gpu_spec lists the GPU models a task may use, joined by "|", read as a set.

Tasks become Pods: a GPU share is a fraction of one GPU (`GpuKind.FRACTION`, no GPU memory
named), whole GPUs are `nvidia.com/gpu`, and gpu_spec is a required node affinity on
`nvidia.com/gpu.product` In the models' product names, so the NodeAffinity filter enforces
it. Nodes get the labels GPU Feature Discovery would give them (models via the catalog, whose
aliases include the trace's T4, P100, V100M16, V100M32, A10, G2 and G3).

A bad row is an InputError naming file, line and column. Node lists are refused on the first
one (they are the cluster); pod lists are refused too unless `skip_bad` is set, in which case
bad rows are left out and returned with their errors, so that the caller reports them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from gpuplane.catalog import lookup
from gpuplane.catalog.labels import PRODUCT
from gpuplane.catalog.resources import GPU
from gpuplane.errors import InputError, Location
from gpuplane.limits import MAX_BYTES, MAX_CPU_MILLICORES, MAX_GPUS_PER_NODE, MAX_GPUS_PER_POD
from gpuplane.objects.gpu_request import NO_GPU, GpuKind, GpuRequest
from gpuplane.objects.node import Node
from gpuplane.objects.pod import Pod
from gpuplane.objects.scheduling import (
    NodeAffinity,
    NodeSelectorRequirement,
    NodeSelectorTerm,
    SelectorOperator,
)
from gpuplane.objects.yaml_load import unreadable
from gpuplane.sharing import MAX_SPLIT_COUNT, GpuSharing, NodeSharing, SharingKind, gfd_labels

NODE_COLUMNS = ("sn", "cpu_milli", "memory_mib", "gpu", "model")
POD_COLUMNS = ("name", "cpu_milli", "memory_mib", "num_gpu", "gpu_milli")
SPEC_COLUMN = "gpu_spec"
NAMESPACE = "openb"

#: The GPU-node list: the cluster the paper simulates (1,213 nodes, 6,212 GPUs).
GPU_NODE_FILE = "openb_node_list_gpu_node.csv"

#: Every pod-list variant in the trace, and the 17 the FGD artifact ran.
ALL_TRACES = (
    "default",
    *(f"cpu{s}" for s in ("0", "037", "050", "072", "100", "200", "235", "250", "300")),
    *(f"gpushare{s}" for s in (20, 40, 60, 80, 100)),
    *(f"gpuspec{s}" for s in ("05", "10", "20", "25", "33")),
    *(f"multigpu{s}" for s in (20, 30, 40, 50)),
)
PAPER_TRACES = (
    "default",
    "cpu050",
    "cpu100",
    "cpu200",
    "cpu250",
    "gpushare40",
    "gpushare60",
    "gpushare80",
    "gpushare100",
    "gpuspec10",
    "gpuspec20",
    "gpuspec25",
    "gpuspec33",
    "multigpu20",
    "multigpu30",
    "multigpu40",
    "multigpu50",
)

#: How openb nodes share their GPUs: the scheduler splits each GPU by milli-GPU. The paper's
#: simulator caps tasks per GPU by milli-GPU alone (the smallest share is 50m, 20 per GPU), so
#: the split count is the most there is and never binds, unlike HAMi's default of 10.
OPENB_SHARING = NodeSharing(GpuSharing(SharingKind.FRACTIONAL, split_count=MAX_SPLIT_COUNT))


def pod_list_file(data_dir: str | Path, trace: str) -> Path:
    """The pod list of a trace variant ("default", "cpu050", ...) in the data folder."""
    return Path(data_dir) / f"openb_pod_list_{trace}.csv"


@dataclass(frozen=True)
class PodList:
    """The tasks read from a pod list, and the rows left out (each with its error)."""

    pods: tuple[Pod, ...]
    skipped: tuple[InputError, ...] = ()


def openb_nodes(path: str | Path) -> list[Node]:
    """The nodes of an openb node list, labelled as GPU Feature Discovery would label them."""
    nodes: list[Node] = []
    for where, row in _rows(Path(path), NODE_COLUMNS):
        nodes.append(_node(row, where))
    _refuse_duplicates([n.name for n in nodes], [n.source for n in nodes], "sn")
    return nodes


def read_openb_pods(path: str | Path, *, skip_bad: bool = False) -> PodList:
    """The tasks of an openb pod list, in file order; bad rows raise unless `skip_bad`."""
    pods: list[Pod] = []
    skipped: list[InputError] = []
    names: set[str] = set()
    for where, row in _rows(Path(path), POD_COLUMNS, optional=(SPEC_COLUMN,)):
        try:
            pod = _pod(row, where)
            if pod.name in names:
                raise InputError(
                    f"task {pod.name!r} appears twice",
                    where=where.child("name"),
                    hint="task names must be unique within a pod list",
                )
        except InputError as exc:
            if not skip_bad:
                raise
            skipped.append(exc)
            continue
        names.add(pod.name)
        pods.append(pod)
    if not pods and not skipped:
        # A replay of no tasks would print figures that mean nothing.
        raise InputError("the pod list has no tasks", where=Location(str(path), 1))
    return PodList(tuple(pods), tuple(skipped))


def openb_gpu_request(num_gpu: int, gpu_milli: int) -> GpuRequest:
    """How an openb task asks for GPU: a share of one GPU, whole GPUs, or none."""
    if num_gpu == 0:
        return NO_GPU
    if gpu_milli < 1000:
        return GpuRequest(GpuKind.FRACTION, count=1, milli=gpu_milli)
    return GpuRequest(GpuKind.WHOLE, count=num_gpu, milli=1000, resource=GPU)


# -- rows -------------------------------------------------------------------------------------


Row = dict[str, str]
_MAX_MIB = MAX_BYTES // 2**20


def _rows(
    path: Path, required: Sequence[str], optional: Sequence[str] = ()
) -> Iterator[tuple[Location, Row | InputError]]:
    """(location, row by column name) per data row, or the row's error if it is malformed.

    A missing column or an unreadable file refuses the whole file.
    """
    if not path.is_file():
        raise InputError(unreadable(path), where=Location(str(path)))
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", where=Location(str(path))) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError("is not UTF-8 text", where=Location(str(path), line)) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    # The csv module refuses some rows outright (a field over its size limit): the whole file.
    try:
        header = next(reader, None)
        file_at = Location(str(path), 1)
        if header is None:
            raise InputError("the file is empty", where=file_at)
        missing = [c for c in required if c not in header]
        if missing:
            raise InputError(
                f"missing column(s) {', '.join(missing)}",
                where=file_at,
                hint=f"an openb list has the columns {', '.join(required)}",
            )
        wanted = [*required, *(c for c in optional if c in header)]
        position = {c: header.index(c) for c in wanted}
        for fields in reader:
            where = Location(str(path), reader.line_num)
            if not fields or fields == [""]:
                continue  # a blank line carries no row
            if len(fields) != len(header):
                message = f"expected {len(header)} fields as in the header, found {len(fields)}"
                yield where, InputError(message, where=where)
                continue
            yield where, {c: fields[i].strip() for c, i in position.items()}
    except csv.Error as exc:
        where = Location(str(path), reader.line_num)
        raise InputError(f"malformed CSV: {exc}", where=where) from None


def _valid(row: Row | InputError) -> Row:
    if isinstance(row, InputError):
        raise row
    return row


def _int(row: Row, column: str, where: Location, low: int = 0, high: int | None = None) -> int:
    text = row[column]
    if len(text) > 20 and text.isdigit():
        # Past every bound; int() of a huge text is slow, and echoing it back no help.
        raise InputError(
            f"must be at most {high}, got a number of {len(text)} digits",
            where=where.child(column),
        )
    try:
        value = int(text)
    except ValueError:
        raise InputError(
            f"must be a whole number, got {text!r}", where=where.child(column)
        ) from None
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise InputError(f"must be {bound}, got {value}", where=where.child(column))
    return value


def _node(line: Row | InputError, where: Location) -> Node:
    row = _valid(line)
    name = row["sn"]
    if not name:
        raise InputError("a node needs a name", where=where.child("sn"))
    cpu = _int(row, "cpu_milli", where, low=1, high=MAX_CPU_MILLICORES)
    memory = _int(row, "memory_mib", where, high=_MAX_MIB)
    gpus = _int(row, "gpu", where, high=MAX_GPUS_PER_NODE)
    labels = {"kubernetes.io/hostname": name}
    if gpus == 0:
        if row["model"]:
            raise InputError("a node without GPUs names no model", where=where.child("model"))
        return Node(name=name, cpu_milli=cpu, memory_mib=memory, labels=labels, source=where)
    if not row["model"]:
        raise InputError(f"a node with {gpus} GPUs needs a model", where=where.child("model"))
    model = _model(row["model"], where.child("model"))
    return Node(
        name=name,
        cpu_milli=cpu,
        memory_mib=memory,
        gpu_count=gpus,
        gpu_model=model,
        gpu_memory_mib=lookup(model).memory_mib,
        labels={**labels, **gfd_labels(lookup(model), gpus)},
        sharing=OPENB_SHARING,
        source=where,
    )


def _pod(line: Row | InputError, where: Location) -> Pod:
    row = _valid(line)
    name = row["name"]
    if not name:
        raise InputError("a task needs a name", where=where.child("name"))
    cpu = _int(row, "cpu_milli", where, high=MAX_CPU_MILLICORES)
    memory = _int(row, "memory_mib", where, high=_MAX_MIB)
    num_gpu = _int(row, "num_gpu", where, high=MAX_GPUS_PER_POD)
    gpu_milli = _int(row, "gpu_milli", where, high=1000)
    if (num_gpu == 0) != (gpu_milli == 0):
        raise InputError(
            f"num_gpu {num_gpu} with gpu_milli {gpu_milli}: a task with GPUs needs a share "
            "and a CPU-only task none",
            where=where.child("gpu_milli"),
        )
    if num_gpu > 1 and gpu_milli < 1000:
        raise InputError(
            f"a share of {gpu_milli} milli-GPU on {num_gpu} GPUs: openb shares one GPU only",
            where=where.child("gpu_milli"),
        )
    products = _products(row.get(SPEC_COLUMN, ""), where.child(SPEC_COLUMN))
    if products and num_gpu == 0:
        raise InputError("a CPU-only task names GPU models", where=where.child(SPEC_COLUMN))
    return Pod(
        name=name,
        namespace=NAMESPACE,
        cpu_milli=cpu,
        memory_mib=memory,
        gpu=openb_gpu_request(num_gpu, gpu_milli),
        affinity=_on_products(products),
        source=where,
    )


def _model(alias: str, where: Location) -> str:
    try:
        return lookup(alias).product
    except InputError as exc:
        raise exc.at(where) from None


def _products(spec: str, where: Location) -> tuple[str, ...]:
    """The catalog product names of a gpu_spec, sorted and without repeats (it is a set)."""
    return tuple(sorted({_model(m.strip(), where) for m in spec.split("|") if m.strip()}))


def _on_products(products: tuple[str, ...]) -> NodeAffinity:
    if not products:
        return NodeAffinity()
    requirement = NodeSelectorRequirement(PRODUCT, SelectorOperator.IN, products)
    return NodeAffinity(required=(NodeSelectorTerm(match_expressions=(requirement,)),))


def _refuse_duplicates(names: list[str], where: list[Location], column: str) -> None:
    seen: set[str] = set()
    for name, at in zip(names, where, strict=True):
        if name in seen:
            raise InputError(f"{name!r} appears twice", where=at.child(column))
        seen.add(name)
