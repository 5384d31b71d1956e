"""Worlds that drive the brain without a cluster: trace readers, replays, reports and plots.

`sim.openb` reads the Alibaba openb GPU trace; `sim.replay` runs the FGD paper's experiment on
it with gpuplane's own scheduler; `sim.openb_results` bins the replays into the layout the
paper's authors published; `sim.plot` draws them; `sim.batch` runs many replays in parallel.
"""

from gpuplane.sim.openb import (
    ALL_TRACES,
    PAPER_TRACES,
    PodList,
    openb_gpu_request,
    openb_nodes,
    pod_list_file,
    read_openb_pods,
)
from gpuplane.sim.replay import ReplayResult, arrivals, replay

__all__ = [
    "ALL_TRACES",
    "PAPER_TRACES",
    "PodList",
    "ReplayResult",
    "arrivals",
    "openb_gpu_request",
    "openb_nodes",
    "pod_list_file",
    "read_openb_pods",
    "replay",
]
