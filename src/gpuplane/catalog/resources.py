"""The extended resource names GPUs are advertised and requested under, as NVIDIA names them."""

#: Whole GPUs, and under the single MIG strategy every MIG device too.
GPU = "nvidia.com/gpu"
#: Time-slicing or MPS replicas renamed by the device plugin's renameByDefault.
GPU_SHARED = "nvidia.com/gpu.shared"
#: MIG instances under the mixed strategy: nvidia.com/mig-<profile>.
MIG_PREFIX = "nvidia.com/mig-"
