"""Placement-aware admission for Kueue: the controller of gpuplane.io/placement AdmissionChecks."""

from gpuplane.live.admission.controller import AdmissionCheckController
from gpuplane.live.admission.kueue import CONTROLLER_NAME, PROMISE_ANNOTATION
from gpuplane.live.admission.promises import PromiseBook

__all__ = ["CONTROLLER_NAME", "PROMISE_ANNOTATION", "AdmissionCheckController", "PromiseBook"]
