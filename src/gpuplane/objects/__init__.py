"""Kubernetes objects as the brain sees them, and reading them from manifests.

`read_manifests(paths)` reads Pods, Jobs, Nodes, PriorityClasses, ResourceQuotas and NVIDIA
device plugin ConfigMaps from YAML files into the frozen dataclasses below, all or nothing:
a bad manifest raises an `InputError` that names file:line and the field path.
"""

from gpuplane.objects.device_plugin_config import (
    DevicePluginConfig,
    DevicePluginConfigMap,
    ReplicatedResource,
    SharingConfig,
)
from gpuplane.objects.gpu_request import NO_GPU, GpuKind, GpuRequest
from gpuplane.objects.job import Job
from gpuplane.objects.node import Node
from gpuplane.objects.pod import Pod
from gpuplane.objects.policy import PriorityClass, ResourceQuota
from gpuplane.objects.reader import Manifests, read_manifests, read_text
from gpuplane.objects.scheduling import (
    NodeAffinity,
    NodeSelectorRequirement,
    NodeSelectorTerm,
    SelectorOperator,
    Taint,
    TaintEffect,
    Toleration,
)

__all__ = [
    "NO_GPU",
    "DevicePluginConfig",
    "DevicePluginConfigMap",
    "GpuKind",
    "GpuRequest",
    "Job",
    "Manifests",
    "Node",
    "NodeAffinity",
    "NodeSelectorRequirement",
    "NodeSelectorTerm",
    "Pod",
    "PriorityClass",
    "ReplicatedResource",
    "ResourceQuota",
    "SelectorOperator",
    "SharingConfig",
    "Taint",
    "TaintEffect",
    "Toleration",
    "read_manifests",
    "read_text",
]
