"""The node label names GPU Feature Discovery, the device plugin and the GPU Operator write.

Names are the real ones, so that nodeSelectors and affinities users already have keep working
against gpuplane's nodes; gpuplane adds a few of its own for what Kubernetes has no label for
(fractional GPUs, dynamic MIG). Which labels a node gets, and what they say about its sharing
mode, is `gpuplane.sharing`'s business: this module holds names and fixed values only.
"""

PRODUCT = "nvidia.com/gpu.product"
MEMORY = "nvidia.com/gpu.memory"
COUNT = "nvidia.com/gpu.count"
FAMILY = "nvidia.com/gpu.family"
COMPUTE_MAJOR = "nvidia.com/gpu.compute.major"
COMPUTE_MINOR = "nvidia.com/gpu.compute.minor"
PRESENT = "nvidia.com/gpu.present"
REPLICAS = "nvidia.com/gpu.replicas"
SHARING_STRATEGY = "nvidia.com/gpu.sharing-strategy"
SLICES_GI = "nvidia.com/gpu.slices.gi"
SLICES_CI = "nvidia.com/gpu.slices.ci"
MIG_CAPABLE = "nvidia.com/mig.capable"
MIG_STRATEGY = "nvidia.com/mig.strategy"
MPS_CAPABLE = "nvidia.com/mps.capable"
#: The machine's DMI product name, sanitised; "unknown" where GFD cannot read it.
MACHINE = "nvidia.com/gpu.machine"
#: compute (PCI 3D controller), graphics (VGA controller), or unknown (other or mixed classes).
GPU_MODE = "nvidia.com/gpu.mode"
MACHINE_UNKNOWN = "unknown"
MODE_COMPUTE = "compute"
MODE_GRAPHICS = "graphics"
MODE_UNKNOWN = "unknown"
DEVICE_PLUGIN_CONFIG = "nvidia.com/device-plugin.config"
#: Set by users (or the GPU Operator's default) to a mig-parted config name; mig-manager
#: applies it and reports progress in MIG_CONFIG_STATE.
MIG_CONFIG = "nvidia.com/mig.config"
MIG_CONFIG_STATE = "nvidia.com/mig.config.state"

#: Driver and CUDA versions as GFD writes them (internal/lm/nvml.go): the driver's version
#: split in parts and whole, and as "runtime" the CUDA version the driver supports.
CUDA_DRIVER_MAJOR = "nvidia.com/cuda.driver-version.major"
CUDA_DRIVER_MINOR = "nvidia.com/cuda.driver-version.minor"
CUDA_DRIVER_REVISION = "nvidia.com/cuda.driver-version.revision"
CUDA_DRIVER_FULL = "nvidia.com/cuda.driver-version.full"
CUDA_RUNTIME_MAJOR = "nvidia.com/cuda.runtime-version.major"
CUDA_RUNTIME_MINOR = "nvidia.com/cuda.runtime-version.minor"
CUDA_RUNTIME_FULL = "nvidia.com/cuda.runtime-version.full"
#: The older names of the same values, which GFD still writes beside the new ones.
CUDA_DRIVER_MAJOR_OLD = "nvidia.com/cuda.driver.major"
CUDA_DRIVER_MINOR_OLD = "nvidia.com/cuda.driver.minor"
CUDA_DRIVER_REV_OLD = "nvidia.com/cuda.driver.rev"
CUDA_RUNTIME_MAJOR_OLD = "nvidia.com/cuda.runtime.major"
CUDA_RUNTIME_MINOR_OLD = "nvidia.com/cuda.runtime.minor"

#: The suffixes of the labels GFD writes per advertised resource: "<resource>.<suffix>".
RESOURCE_PRODUCT = "product"
RESOURCE_COUNT = "count"
RESOURCE_REPLICAS = "replicas"
RESOURCE_SHARING_STRATEGY = "sharing-strategy"
RESOURCE_MEMORY = "memory"
RESOURCE_SLICES_GI = "slices.gi"
RESOURCE_SLICES_CI = "slices.ci"
RESOURCE_MULTIPROCESSORS = "multiprocessors"
RESOURCE_ENGINES_COPY = "engines.copy"
RESOURCE_ENGINES_DECODER = "engines.decoder"
RESOURCE_ENGINES_ENCODER = "engines.encoder"
RESOURCE_ENGINES_JPEG = "engines.jpeg"
RESOURCE_ENGINES_OFA = "engines.ofa"

#: What GFD appends to the product name when nvidia.com/gpu is replicated and not renamed.
SHARED_SUFFIX = "-SHARED"
#: What GFD puts between the product and the MIG profile under the single strategy.
MIG_INFIX = "-MIG-"
#: The profile part of the product when the single strategy finds the node misconfigured.
MIG_INVALID = "INVALID"
#: mig-parted's names for "MIG off" and "MIG on, no instances".
MIG_CONFIG_DISABLED = "all-disabled"
MIG_CONFIG_ENABLED = "all-enabled"
MIG_CONFIG_STATE_SUCCESS = "success"
#: GFD's sharing-strategy when a resource is not replicated.
NO_SHARING = "none"

# gpuplane's own labels, for what no Kubernetes component labels.
#: "fractional": the scheduler splits GPUs by compute and memory (HAMi, KAI); "exclusive".
SHARING = "gpuplane.io/sharing"
SHARING_FRACTIONAL = "fractional"
SHARING_EXCLUSIVE = "exclusive"
#: Where fractions go on a fractional node: "binpack" or "spread" (HAMi's policy names).
GPU_SCHEDULER_POLICY = "gpuplane.io/gpu-scheduler-policy"
#: How many devices a fractional GPU is advertised as (HAMi's deviceSplitCount): at most that
#: many pods share one GPU, since the kubelet hands each one device.
DEVICE_SPLIT_COUNT = "gpuplane.io/device-split-count"
#: "true": idle MIG GPUs may be reshaped to fit a request (as HAMi and Volcano do).
DYNAMIC_MIG = "gpuplane.io/dynamic-mig"
