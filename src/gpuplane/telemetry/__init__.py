"""Telemetry: dcgm-exporter-compatible GPU metrics attributed to pods, and control-plane metrics.

>>> from gpuplane.node import FakeBackend
>>> from gpuplane.telemetry import GpuExporter
>>> exporter = GpuExporter(FakeBackend(text="gpus: [{model: NVIDIA-L4}]"), hostname="n0")
>>> "DCGM_FI_DEV_GPU_UTIL{" in exporter.render()
True

The metric table is `gpuplane.telemetry.metrics`; the kubelet pod-resources client
`gpuplane.telemetry.podresources`; the HTTP endpoint `gpuplane.telemetry.server`.
"""

from __future__ import annotations

from gpuplane.telemetry.exporter import GpuExporter
from gpuplane.telemetry.metrics import DCGM_METRICS, NOT_EXPORTED, POD_METRICS, MetricSpec
from gpuplane.telemetry.processes import ContainerRef, ProcessResolver

__all__ = [
    "DCGM_METRICS",
    "NOT_EXPORTED",
    "POD_METRICS",
    "ContainerRef",
    "GpuExporter",
    "MetricSpec",
    "ProcessResolver",
]
