"""Placement: the scheduling cycle for one pod (filter, score, assign devices)."""

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
