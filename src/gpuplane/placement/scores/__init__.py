"""Score plugins, one per file."""

from gpuplane.placement.scores.balanced_allocation import BalancedAllocationScore
from gpuplane.placement.scores.best_fit import BestFitScore
from gpuplane.placement.scores.dot_product import DotProductScore
from gpuplane.placement.scores.fgd import FgdScore
from gpuplane.placement.scores.gpu_clustering import GpuClusteringScore
from gpuplane.placement.scores.gpu_packing import GpuPackingScore
from gpuplane.placement.scores.least_allocated import LeastAllocatedScore
from gpuplane.placement.scores.most_allocated import MostAllocatedScore
from gpuplane.placement.scores.node_affinity import NodeAffinityScore
from gpuplane.placement.scores.random_node import RandomScore
from gpuplane.placement.scores.taint_toleration import TaintTolerationScore

__all__ = [
    "BalancedAllocationScore",
    "BestFitScore",
    "DotProductScore",
    "FgdScore",
    "GpuClusteringScore",
    "GpuPackingScore",
    "LeastAllocatedScore",
    "MostAllocatedScore",
    "NodeAffinityScore",
    "RandomScore",
    "TaintTolerationScore",
]
