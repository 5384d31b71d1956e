"""Small builders for tests: nodes and pods without YAML."""

from __future__ import annotations

from typing import Any

from gpuplane.catalog import lookup
from gpuplane.objects.gpu_request import GpuKind, GpuRequest
from gpuplane.objects.node import Node
from gpuplane.objects.pod import Pod
from gpuplane.objects.scheduling import Taint, Toleration
from gpuplane.sharing import GpuSharing, NodeSharing, SharingKind, gfd_labels

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
