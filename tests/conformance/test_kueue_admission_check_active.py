"""An AdmissionCheck's Active condition, as Kueue's own check controller keeps it.

Upstream: kubernetes-sigs/kueue, pkg/controller/admissionchecks/provisioning/
admissioncheck_reconciler_test.go (TestReconcileAdmissionCheck) at commit
ff69552e79ad21652c36caa97038382e55625cf7: a controller leaves checks of other controllers
alone, and sets Active on its own with reason Active and the check's generation as
observedGeneration, or False with reason BadParametersRef when the parameters are wrong.

Intentional divergence: the provisioning check needs a ProvisioningRequestConfig in
spec.parameters, so its "no parameters specified" case is Active=False; gpuplane.io/placement
takes no parameters, so no parameters is its good case (Active=True, the wording of upstream's
"config found") and any parameters are its bad reference (BadParametersRef, our message).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from gpuplane.live.admission.kueue import CONTROLLER_NAME, active_condition, is_ours

NOW = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


def check(controller: str, parameters: dict[str, str] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"controllerName": controller}
    if parameters is not None:
        spec["parameters"] = parameters
    return {
        "apiVersion": "kueue.x-k8s.io/v1beta2",
        "kind": "AdmissionCheck",
        "metadata": {"name": "check1", "generation": 1, "resourceVersion": "5"},
        "spec": spec,
    }


ACTIVE = {
    "type": "Active",
    "status": "True",
    "reason": "Active",
    "message": "The admission check is active",
    "observedGeneration": 1,
}
BAD_REF = {
    "type": "Active",
    "status": "False",
    "reason": "BadParametersRef",
    "observedGeneration": 1,
}

CASES = [
    # (upstream case name, check, want condition or None for "left alone")
    ("unrelated check", check("other-controller"), None),
    ("no parameters specified", check(CONTROLLER_NAME), ACTIVE),
    ("bad ref group", check(CONTROLLER_NAME, {"apiGroup": "bad.group", "kind": "K", "name": "c"}),
     BAD_REF),
    ("bad ref kind", check(CONTROLLER_NAME, {"apiGroup": "kueue.x-k8s.io", "kind": "BadKind",
                                             "name": "config1"}), BAD_REF),
    ("config missing", check(CONTROLLER_NAME, {"apiGroup": "kueue.x-k8s.io",
                                               "kind": "ProvisioningRequestConfig",
                                               "name": "config1"}), BAD_REF),
    ("config found", check(CONTROLLER_NAME), ACTIVE),
]


@pytest.mark.parametrize(("obj", "want"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_reconcile_admission_check(obj: dict[str, Any], want: dict[str, Any] | None) -> None:
    if want is None:
        assert not is_ours(obj)
        return
    assert is_ours(obj)
    condition, needed = active_condition(obj, NOW)
    assert needed
    assert {k: condition[k] for k in want} == want
    assert condition["lastTransitionTime"] == "2025-01-02T03:04:05Z"
    if want["status"] == "False":
        assert CONTROLLER_NAME in condition["message"]


def test_a_condition_already_set_is_not_written_again() -> None:
    obj = check(CONTROLLER_NAME)
    condition, _ = active_condition(obj, NOW)
    obj["status"] = {"conditions": [condition]}
    later = datetime(2025, 1, 3, tzinfo=UTC)
    assert active_condition(obj, later) == (condition, False)
    obj["metadata"]["generation"] = 2  # a new generation: observedGeneration moves, the time not
    again, needed = active_condition(obj, later)
    assert needed and again["observedGeneration"] == 2
    assert again["lastTransitionTime"] == condition["lastTransitionTime"]
