"""The node labels GPU Feature Discovery sets, by their real names, and the ones a model implies.

Names are the ones GFD and the GPU Operator write, so that nodeSelectors and affinities users
already have keep working against gpuplane's nodes.
"""

from __future__ import annotations

from gpuplane.catalog.models import GpuModel

PRODUCT = "nvidia.com/gpu.product"
MEMORY = "nvidia.com/gpu.memory"
COUNT = "nvidia.com/gpu.count"
FAMILY = "nvidia.com/gpu.family"
COMPUTE_MAJOR = "nvidia.com/gpu.compute.major"
COMPUTE_MINOR = "nvidia.com/gpu.compute.minor"
PRESENT = "nvidia.com/gpu.present"
REPLICAS = "nvidia.com/gpu.replicas"
SHARING_STRATEGY = "nvidia.com/gpu.sharing-strategy"
MIG_CAPABLE = "nvidia.com/mig.capable"
MIG_STRATEGY = "nvidia.com/mig.strategy"
DEVICE_PLUGIN_CONFIG = "nvidia.com/device-plugin.config"

#: The label GFD and the device plugin append to the product name when GPUs are shared.
SHARED_SUFFIX = "-SHARED"


def gfd_labels(model: GpuModel, count: int) -> dict[str, str]:
    """The labels GFD puts on a node with `count` GPUs of `model`, shared by nobody."""
    major, minor = model.compute_capability
    return {
        PRESENT: "true",
        PRODUCT: model.product,
        MEMORY: str(model.memory_mib),
        COUNT: str(count),
        FAMILY: model.family,
        COMPUTE_MAJOR: str(major),
        COMPUTE_MINOR: str(minor),
        MIG_CAPABLE: "true" if model.mig_capable else "false",
        REPLICAS: "1",
        SHARING_STRATEGY: "none",
    }
