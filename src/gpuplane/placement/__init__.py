"""Placement: the scheduling cycle for one pod (filter, score, assign devices).

* `scheduler`: `Scheduler.schedule` decides, `place` also reserves, `unbind` undoes a `bind`.
* `framework`: the plugin interfaces (a filter returns failing-node masks with reasons, a score
  an integer per node) and kube-scheduler's FitError text.
* `filters/`, `scores/`: one plugin per file, vectorized over all nodes.
* `profiles`: the policies as one table of rows (kube defaults and the openb six incl. FGD).
* `assign/`: which devices a placed pod takes (whole GPUs, replicas, MIG slots, dynamic MIG,
  fractions); `gpu_fit`: per-node GPU fit; `fragmentation`: FGD's measure.
"""

from gpuplane.placement.framework import Cycle, FilterPlugin, NodeCache, ScorePlugin, fit_error
from gpuplane.placement.profiles import DEFAULT_PROFILE, PROFILES, Profile, profile
from gpuplane.placement.scheduler import Decision, Placement, Scheduler, Unschedulable

__all__ = [
    "DEFAULT_PROFILE",
    "PROFILES",
    "Cycle",
    "Decision",
    "FilterPlugin",
    "NodeCache",
    "Placement",
    "Profile",
    "Scheduler",
    "ScorePlugin",
    "Unschedulable",
    "fit_error",
    "profile",
]
