"""Builders for node agent tests: fake inventories, configs and plans without files."""

from __future__ import annotations

from gpuplane.node import FakeBackend, NodePlan, parse_config, plan_node

A100 = "NVIDIA-A100-SXM4-80GB"

#: Two GPUs on each of two NUMA nodes.
FOUR_A100 = f"""
node: n1
gpus:
  - {{model: {A100}, count: 2, numaNode: 0}}
  - {{model: {A100}, count: 2, numaNode: 1}}
"""

TIME_SLICING_4 = """
version: v1
sharing:
  timeSlicing:
    resources: [{name: nvidia.com/gpu, replicas: 4}]
"""

RENAMED_2 = """
version: v1
sharing:
  timeSlicing:
    renameByDefault: true
    resources: [{name: nvidia.com/gpu, replicas: 2}]
"""

MPS_2 = """
version: v1
sharing:
  mps:
    resources: [{name: nvidia.com/gpu, replicas: 2}]
"""

MIXED = "version: v1\nflags: {migStrategy: mixed}\n"
SINGLE = "version: v1\nflags: {migStrategy: single}\n"


def mig_inventory(layout: str = "all-balanced", count: int = 2) -> str:
    return f"""
node: n1
gpus:
  - {{model: {A100}, count: {count}, numaNode: 0, mig: {layout}}}
"""


def plan(inventory: str, config: str | None = None) -> NodePlan:
    backend = FakeBackend(text=inventory)
    return plan_node(backend.inventory(), parse_config(config) if config else None)
