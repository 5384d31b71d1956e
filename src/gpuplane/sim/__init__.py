"""Worlds that drive the brain without a cluster: trace readers, replays, reports and plots.

`sim.openb` reads the Alibaba openb GPU trace; `sim.replay` runs the FGD paper's experiment on
it with gpuplane's own scheduler; `sim.openb_results` bins the replays into the layout the
paper's authors published; `sim.plot` draws them; `sim.batch` runs many replays in parallel.

`sim.simulator` is the discrete-event loop that drives the admission engine (`queueing`)
through virtual time: workloads from manifests (`queueing.manifests`), seeded generators
(`sim.generators`) or the openb trace in time (`sim.openb_source`), node and GPU failures,
and the metrics of every run (`sim.metrics`). `sim.twin` reads a scenario file and
`sim.run_variants` runs it under each of its variants.
"""

from gpuplane.sim.generators import Team, WorkloadKind, generate
from gpuplane.sim.metrics import Percentiles, Report
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
from gpuplane.sim.simulator import Simulator

__all__ = [
    "ALL_TRACES",
    "PAPER_TRACES",
    "Percentiles",
    "PodList",
    "ReplayResult",
    "Report",
    "Simulator",
    "Team",
    "WorkloadKind",
    "arrivals",
    "generate",
    "openb_gpu_request",
    "openb_nodes",
    "pod_list_file",
    "read_openb_pods",
    "replay",
]
