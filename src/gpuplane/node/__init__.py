"""The node agent: GPU discovery, GFD labels, the kubelet device plugin, CDI specs and health.

>>> from gpuplane.node import FakeBackend, plan_node, node_labels
>>> backend = FakeBackend(text="gpus: [{model: NVIDIA-L4, count: 2}]")
>>> plan = plan_node(backend.inventory())
>>> plan.advertised(), node_labels(plan)["nvidia.com/gpu.product"]
({'nvidia.com/gpu': 2}, 'NVIDIA-L4')

Names are imported on first use, so that `import gpuplane.node` (and the CLI, which imports
it) costs no gRPC import. The NVML backend (`gpuplane.node.nvml.NvmlBackend`) is imported from
its module, on GPU nodes.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gpuplane.node.agent import AgentOptions, NodeAgent
    from gpuplane.node.allocate import DeviceListStrategy
    from gpuplane.node.backend import (
        Backend,
        BackendError,
        Gpu,
        HealthEvent,
        Inventory,
        MigDevice,
    )
    from gpuplane.node.cdi import cdi_spec, write_spec
    from gpuplane.node.config import load_config, parse_config
    from gpuplane.node.devices import NodePlan, PluginDevice, plan_node
    from gpuplane.node.fake import FakeBackend
    from gpuplane.node.health import HealthTracker, XidPolicy
    from gpuplane.node.labels import feature_file, node_labels

_HOMES = {
    "AgentOptions": "agent",
    "NodeAgent": "agent",
    "DeviceListStrategy": "allocate",
    "Backend": "backend",
    "BackendError": "backend",
    "Gpu": "backend",
    "HealthEvent": "backend",
    "Inventory": "backend",
    "MigDevice": "backend",
    "cdi_spec": "cdi",
    "write_spec": "cdi",
    "load_config": "config",
    "parse_config": "config",
    "NodePlan": "devices",
    "PluginDevice": "devices",
    "plan_node": "devices",
    "FakeBackend": "fake",
    "HealthTracker": "health",
    "XidPolicy": "health",
    "feature_file": "labels",
    "node_labels": "labels",
}

__all__ = [
    "AgentOptions",
    "Backend",
    "BackendError",
    "DeviceListStrategy",
    "FakeBackend",
    "Gpu",
    "HealthEvent",
    "HealthTracker",
    "Inventory",
    "MigDevice",
    "NodeAgent",
    "NodePlan",
    "PluginDevice",
    "XidPolicy",
    "cdi_spec",
    "feature_file",
    "load_config",
    "node_labels",
    "parse_config",
    "plan_node",
    "write_spec",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'gpuplane.node' has no attribute {name!r}")
    return getattr(importlib.import_module(f"gpuplane.node.{home}"), name)
