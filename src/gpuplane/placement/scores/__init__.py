"""Score plugins, one per file."""

from gpuplane.placement.scores.best_fit import BestFitScore
from gpuplane.placement.scores.dot_product import DotProductScore
from gpuplane.placement.scores.fgd import FragmentationGradientDescent
from gpuplane.placement.scores.gpu_clustering import GpuClusteringScore
from gpuplane.placement.scores.gpu_packing import GpuPackingScore
from gpuplane.placement.scores.least_allocated import LeastAllocated
from gpuplane.placement.scores.most_allocated import MostAllocated
from gpuplane.placement.scores.random import RandomScore

__all__ = [
    "BestFitScore",
    "DotProductScore",
    "FragmentationGradientDescent",
    "GpuClusteringScore",
    "GpuPackingScore",
    "LeastAllocated",
    "MostAllocated",
    "RandomScore",
]
