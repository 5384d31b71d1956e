"""The shape-grouped build of ClusterState equals setting every node up on its own."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from gpuplane.catalog import find, lookup
from gpuplane.catalog.resources import GPU_SHARED
from gpuplane.cluster import Binding, ClusterState
from gpuplane.objects import Node
from gpuplane.sharing import (
    FractionPolicy,
    GpuSharing,
    MigStrategy,
    NodeSharing,
    SharingKind,
    gfd_labels,
    initial_layout,
    node_devices,
)

A100 = "NVIDIA-A100-SXM4-80GB"


def _reference(nodes: list[Node]) -> dict[str, Any]:
    """ClusterState's fields as the per-node constructor before issue 14 set them up."""
    n = len(nodes)
    width = max((node.gpu_count for node in nodes), default=0)
    out: dict[str, Any] = {
        "cpu_alloc": np.array([x.cpu_milli for x in nodes], dtype=np.int64),
        "mem_alloc": np.array([x.memory_mib for x in nodes], dtype=np.int64),
        "pods_alloc": np.array([x.pods for x in nodes], dtype=np.int64),
        "mem_alloc_bytes": np.array([x.memory_allocatable_bytes for x in nodes], np.int64),
        "gpu_count": np.array([x.gpu_count for x in nodes], dtype=np.int64),
    }
    present = np.arange(width)[None, :] < out["gpu_count"][:, None]
    per_node_mem = np.array([x.gpu_memory_mib for x in nodes], dtype=np.int64)
    mem_total = np.where(present, per_node_mem[:, None], 0).reshape(n, width)
    free_milli = np.where(present, 1000, 0).astype(np.int64)
    out |= {"gpu_present": present, "gpu_mem_total": mem_total, "gpu_healthy": present.copy()}
    out |= {"gpu_free_milli": free_milli, "gpu_free_mem": mem_total.copy()}
    models = tuple(find(x.gpu_model) for x in nodes)
    fractional = np.zeros((n, width), dtype=np.bool_)
    split = np.zeros((n, width), dtype=np.int64)
    layouts_all: list[dict[int, Any]] = []
    devices: list[list[Any]] = []
    for i, node in enumerate(nodes):
        layouts = {
            g: initial_layout(models[i], node.sharing.for_gpu(g))
            for g in range(node.gpu_count)
            if node.sharing.for_gpu(g).kind is SharingKind.MIG
        }
        layouts_all.append(layouts)
        devices.append(
            node_devices(node.sharing, node.gpu_count, models[i], node.gpu_memory_mib, layouts)
        )
        for g in range(node.gpu_count):
            fractional[i, g] = node.sharing.for_gpu(g).kind is SharingKind.FRACTIONAL
            if fractional[i, g]:
                split[i, g] = node.sharing.for_gpu(g).split_count

    def mig_resources(i: int) -> frozenset[str]:
        model, node = models[i], nodes[i]
        if model is None or node.sharing.mig_strategy is not MigStrategy.MIXED:
            return frozenset()
        return frozenset(p.resource_name for p in model.mig_profiles)

    device_resources = {d.resource for ds in devices for d in ds}
    for i, node in enumerate(nodes):
        if node.sharing.dynamic_mig:
            device_resources |= mig_resources(i)
    plain = {k for x in nodes for k in (*x.extended, *x.native)}
    names = tuple(sorted(device_resources | plain))
    col = {name: c for c, name in enumerate(names)}
    ext_alloc = np.zeros((n, len(names)), dtype=np.int64)
    backed_all: list[frozenset[str]] = []
    for i, node in enumerate(nodes):
        backed = frozenset(d.resource for d in devices[i])
        if node.sharing.dynamic_mig:
            backed |= mig_resources(i)
        backed_all.append(backed)
        for name, amount in (*node.extended.items(), *node.native.items()):
            if name not in backed:
                ext_alloc[i, col[name]] = amount
    ext_free = ext_alloc.copy()
    free_node = np.zeros(n, dtype=np.int64)
    idle = np.zeros(n, dtype=np.int64)
    for i in range(n):
        healthy = present[i]
        free_node[i] = int(free_milli[i][healthy].sum())
        whole = (free_milli[i] == 1000) & (mem_total[i] == mem_total[i])
        idle[i] = int(np.count_nonzero(healthy & whole))
        if not backed_all[i]:
            continue
        free = dict.fromkeys(backed_all[i], 0)
        total = dict(free)
        for d in devices[i]:
            if healthy[d.gpu]:
                total[d.resource] += 1
                if free_milli[i, d.gpu] >= d.milli and mem_total[i, d.gpu] >= d.memory_mib:
                    free[d.resource] += 1
        for name in backed_all[i]:
            ext_alloc[i, col[name]] = total[name]
            ext_free[i, col[name]] = free[name]
    return out | {
        "models": models,
        "gpu_fractional": fractional,
        "gpu_split": split,
        "gpu_free_split": split.copy(),
        "mig_layouts": layouts_all,
        "devices": devices,
        "device_index": [{d.id: d for d in ds} for ds in devices],
        "device_users": [{} for _ in nodes],
        "ext_names": names,
        "ext_col": col,
        "ext_alloc": ext_alloc,
        "ext_free": ext_free,
        "device_backed": backed_all,
        "gpu_free_node": free_node,
        "gpu_idle_count": idle,
        "index": {x.name: i for i, x in enumerate(nodes)},
        "node_version": np.zeros(n, dtype=np.int64),
    }


def _sharings() -> list[NodeSharing]:
    ts = GpuSharing(SharingKind.TIME_SLICING, 4)
    mig7 = GpuSharing(SharingKind.MIG, mig_layout=("1g.10gb",) * 7)
    mig_mixed = GpuSharing(SharingKind.MIG, mig_layout=("3g.40gb", "2g.20gb", "1g.10gb"))
    return [
        NodeSharing(),
        NodeSharing(ts),
        NodeSharing(GpuSharing(SharingKind.TIME_SLICING, 2, GPU_SHARED, True)),
        NodeSharing(GpuSharing(SharingKind.MPS, 3)),
        NodeSharing(mig7, mig_strategy=MigStrategy.SINGLE),
        NodeSharing(mig_mixed, mig_strategy=MigStrategy.MIXED),
        NodeSharing(mig7, mig_strategy=MigStrategy.MIXED, dynamic_mig=True),
        NodeSharing(GpuSharing(SharingKind.FRACTIONAL)),
        NodeSharing(GpuSharing(SharingKind.FRACTIONAL, fraction_policy=FractionPolicy.SPREAD)),
        NodeSharing(GpuSharing(SharingKind.FRACTIONAL, split_count=4)),
        NodeSharing(GpuSharing(), per_gpu={0: mig_mixed}, mig_strategy=MigStrategy.MIXED),
        NodeSharing(GpuSharing(), per_gpu={1: GpuSharing(SharingKind.FRACTIONAL)}),
    ]


def random_cluster(seed: int, count: int) -> list[Node]:
    """Nodes drawn from a few shapes with per-node sizes, labels and extended resources."""
    rng = np.random.default_rng(seed)
    sharings = _sharings()
    models = [A100, "NVIDIA-H100-80GB-HBM3", "NVIDIA-L4", None, "Unknown-GPU"]
    nodes = []
    for i in range(count):
        product = models[rng.integers(len(models))]
        gpus = 0 if product is None else int(rng.choice([1, 2, 4, 8]))
        model = lookup(product) if product in (A100, "NVIDIA-H100-80GB-HBM3", "NVIDIA-L4") else None
        sharing = sharings[rng.integers(len(sharings))] if model is not None and gpus >= 2 else None
        if sharing is not None and sharing.default.kind is SharingKind.MIG and product != A100:
            sharing = None
        if sharing is not None and sharing.per_gpu.get(0, GpuSharing()).kind is SharingKind.MIG:
            sharing = sharing if product == A100 else None
        if sharing is not None and rng.random() < 0.5:  # an equal copy, not the same object
            sharing = NodeSharing(
                sharing.default, dict(sharing.per_gpu), sharing.mig_strategy, sharing.dynamic_mig
            )
        extended: dict[str, int] = {}
        native: dict[str, int] = {}
        if rng.random() < 0.3:
            extended["rdma/hca"] = int(rng.integers(1, 4))
        if rng.random() < 0.2:
            extended["nvidia.com/gpu"] = gpus  # device-backed where the node has devices
        if rng.random() < 0.3:
            native["ephemeral-storage"] = int(rng.integers(1, 10**12))
        kw: dict[str, Any] = {"sharing": sharing} if sharing is not None else {}
        nodes.append(
            Node(
                name=f"n{i}",
                cpu_milli=int(rng.integers(1, 200)) * 1000,
                memory_mib=int(rng.integers(1, 2**20)),
                pods=int(rng.choice([110, 250])),
                gpu_count=gpus,
                gpu_model=product,
                gpu_memory_mib=model.memory_mib if model else int(rng.integers(0, 2)) * 16384,
                memory_bytes=None if rng.random() < 0.5 else int(rng.integers(1, 2**40)),
                extended=extended,
                native=native,
                labels=gfd_labels(model, gpus) if model else {"i": str(i)},
                **kw,
            )
        )
    return nodes


def assert_equal_fields(state: ClusterState, expected: dict[str, Any]) -> None:
    for name, want in expected.items():
        got = getattr(state, name)
        if isinstance(want, np.ndarray):
            assert got.dtype == want.dtype, name
            assert got.shape == want.shape, name
            assert np.array_equal(got, want), name
        else:
            assert got == want, name
            assert type(got) is type(want), name


@pytest.mark.parametrize("seed", range(8))
def test_build_equals_the_per_node_reference(seed):
    nodes = random_cluster(seed, 60)
    assert_equal_fields(ClusterState(nodes), _reference(nodes))


def test_edge_clusters():
    assert_equal_fields(ClusterState([]), _reference([]))
    cpu_only = [Node(name=f"c{i}", cpu_milli=1000, memory_mib=10) for i in range(3)]
    assert_equal_fields(ClusterState(cpu_only), _reference(cpu_only))


def test_nodes_of_one_shape_do_not_share_mutable_parts():
    sharing = _sharings()[6]  # dynamic MIG, seven 1g.10gb per GPU
    model = lookup(A100)
    nodes = [
        Node(f"n{i}", 96_000, 2**20, gpu_count=2, gpu_model=A100,
             gpu_memory_mib=model.memory_mib, sharing=sharing)
        for i in range(2)
    ]
    state = ClusterState(nodes)
    assert state.mig_layouts[0] is not state.mig_layouts[1]
    assert state.device_index[0] is not state.device_index[1]
    assert state.devices[0] is not state.devices[1]
    state.reconfigure_mig(0, 0, (("7g.80gb", 0),))
    assert state.mig_layouts[1] == _reference(nodes)["mig_layouts"][1]
    d = state.free_devices(1, "nvidia.com/mig-1g.10gb")[0]
    state.reserve(
        Binding("ns/p", 1, 1000, 1, gpus=(d.gpu,), gpu_milli=(d.milli,),
                gpu_memory_mib=(d.memory_mib,), devices=(d.id,))
    )
    assert state.device_users[0] == {}
    assert int(state.ext_free[0, state.ext_col["nvidia.com/mig-1g.10gb"]]) == 7
    state.check_invariants()
