"""Score plugins, one per file."""

from gpuplane.placement.scores.least_allocated import LeastAllocated
from gpuplane.placement.scores.most_allocated import MostAllocated

__all__ = ["LeastAllocated", "MostAllocated"]
