"""The extended resource names GPUs are advertised and requested under, as NVIDIA names them."""

#: Whole GPUs, and under the single MIG strategy every MIG device too.
GPU = "nvidia.com/gpu"
#: Time-slicing or MPS replicas renamed by the device plugin's renameByDefault.
GPU_SHARED = "nvidia.com/gpu.shared"
#: MIG instances under the mixed strategy: nvidia.com/mig-<profile>.
MIG_PREFIX = "nvidia.com/mig-"


def mig_name(profile: str) -> str:
    """A MIG profile as the device plugin and GFD write it: "1g.10gb+me" -> "1g.10gb.me".

    "+" is valid in neither an extended resource name nor a label key, so the plugin turns
    it into "." (internal/resource/nvml-mig-device.go); the catalog keeps NVIDIA's "+me".
    """
    return profile.replace("+", ".")


def mig_resource(profile: str) -> str:
    """The extended resource of a MIG profile under the mixed strategy."""
    return f"{MIG_PREFIX}{mig_name(profile)}"
