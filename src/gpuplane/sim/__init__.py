"""The digital twin: worlds that drive the brain through virtual time, without a cluster.

Three pipelines, a sub-package each:

* `sim.core`, the simulator core: the discrete-event loop (`core.simulator`) that drives the
  admission engine (`queueing`) through virtual time, its events and per-workload records,
  workload sources (seeded team generators, Philly job durations; manifests come through
  `queueing.manifests`), node and GPU failures, the metrics of a run with fair shares and
  Jain's index, and the invariants tests check after every event.
* `sim.twin`, what `gpuplane simulate` runs: a scenario file (`twin.spec`, `twin.parse`, with
  variants merged onto the base by `twin.merge`) -> one setup per variant (`twin.load`: nodes,
  admission setup, prices, failures; `twin.workloads`: the very same workloads for all) ->
  every variant run in parallel (`twin.run_variants`, measured by `twin.probe`) -> the
  comparison table (`twin.comparison`) and the HTML report with its figures (`twin.report`,
  `twin.figures`); the built-in scenarios are package data in `twin/scenarios/`.
* `sim.openb`, what `gpuplane replay openb` runs: the Alibaba openb trace read into brain
  objects (`openb.reader`), the FGD paper's experiment replayed with gpuplane's scheduler
  (`openb.replay`), many replays over local cores (`openb.run_replays`), binned as the
  authors published (`openb.results`) and plotted (`openb.plots`); `openb.source` turns the
  trace into workloads arriving in time, for the simulator.

Dependencies point one way: `core` imports neither of the others; `twin` and `openb` use
`core`, and a twin scenario may replay an openb trace (`openb.source`).
"""

from gpuplane.sim.core.generators import Team, WorkloadKind, generate
from gpuplane.sim.core.metrics import Percentiles, Report
from gpuplane.sim.core.simulator import Simulator
from gpuplane.sim.openb.reader import (
    ALL_TRACES,
    PAPER_TRACES,
    PodList,
    openb_gpu_request,
    openb_nodes,
    pod_list_file,
    read_openb_pods,
)
from gpuplane.sim.openb.replay import ReplayResult, arrivals, replay
from gpuplane.sim.twin.load import Twin, load_twin
from gpuplane.sim.twin.run_variants import VariantResult, run_variants

__all__ = [
    "ALL_TRACES",
    "PAPER_TRACES",
    "Percentiles",
    "PodList",
    "ReplayResult",
    "Report",
    "Simulator",
    "Team",
    "Twin",
    "VariantResult",
    "WorkloadKind",
    "arrivals",
    "generate",
    "load_twin",
    "openb_gpu_request",
    "openb_nodes",
    "pod_list_file",
    "read_openb_pods",
    "replay",
    "run_variants",
]
