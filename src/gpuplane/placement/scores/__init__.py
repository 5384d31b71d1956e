"""Score plugins, one per file."""

from gpuplane.placement.scores.best_fit import BestFitScore
from gpuplane.placement.scores.dot_product import DotProductScore
from gpuplane.placement.scores.fgd import FgdScore
from gpuplane.placement.scores.gpu_clustering import GpuClusteringScore
from gpuplane.placement.scores.gpu_packing import GpuPackingScore
from gpuplane.placement.scores.least_allocated import LeastAllocatedScore
from gpuplane.placement.scores.most_allocated import MostAllocatedScore
from gpuplane.placement.scores.random_node import RandomScore

__all__ = [
    "BestFitScore",
    "DotProductScore",
    "FgdScore",
    "GpuClusteringScore",
    "GpuPackingScore",
    "LeastAllocatedScore",
    "MostAllocatedScore",
    "RandomScore",
]
