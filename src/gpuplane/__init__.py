"""gpuplane: a GPU control plane for Kubernetes, and a digital twin of it."""

from gpuplane.errors import InputError, Location

__all__ = ["InputError", "Location", "__version__"]
__version__ = "0.1.0"
