"""Node: what a Kubernetes node offers, read from a Node manifest or made from a cluster spec."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from gpuplane.errors import Location
from gpuplane.objects.scheduling import Taint
from gpuplane.quantity import MIB
from gpuplane.sharing import EXCLUSIVE_NODE, NodeSharing


@dataclass(frozen=True)
class Node:
    """A node's allocatable resources in brain units, its labels and taints.

    `gpu_count` is the number of physical GPUs (allocatable `nvidia.com/gpu` on an
    exclusive node), `gpu_model` the catalog product name when known (from the
    `nvidia.com/gpu.product` label). `extended` holds every other extended resource the
    node advertises (MIG profiles, shared replicas, RDMA, ...) as whole counts.
    `memory_bytes` is the exact allocatable memory when known (read from a manifest;
    `memory_mib` is it rounded down). `native` holds the other native resources the node
    reports (ephemeral-storage, hugepages-<size> in bytes, `kubernetes.io/` ones as counts).
    """

    name: str
    cpu_milli: int
    memory_mib: int
    pods: int = 110
    gpu_count: int = 0
    gpu_model: str | None = None
    gpu_memory_mib: int = 0
    extended: Mapping[str, int] = field(default_factory=dict)
    memory_bytes: int | None = None
    native: Mapping[str, int] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    taints: tuple[Taint, ...] = ()
    unschedulable: bool = False
    #: How the node's GPUs are shared; exclusive unless a spec, label or config says otherwise.
    sharing: NodeSharing = EXCLUSIVE_NODE
    source: Location = field(default_factory=Location)

    @property
    def memory_allocatable_bytes(self) -> int:
        """Allocatable memory in bytes: exact when known, else `memory_mib` MiB."""
        return self.memory_mib * MIB if self.memory_bytes is None else self.memory_bytes
