"""kube-scheduler's FitError message ("0/N nodes are available: ..."), by its own table.

Source: kubernetes/kubernetes, pkg/scheduler/framework/types_test.go (TestFitError_Error), the
current version served by the index (it also tests DRA node-allocatable claims); the recorded
commit for the path is 98be7dfc5da8533f62c063206c5751e884d6294d. The reasons are upstream's
fake plugin messages, used as they are: the cases pin the formatting (a PreFilter message
replaces the histogram; "<count> <reason>" sorted as strings; a final period).
Not ported (3): the cases with a PostFilter message ("... and the preemption also failed",
"... with a non-empty PostFilterMsg" twice): preemption is decided by gpuplane's queueing, which
reports it on its own, not appended to the placement's FitError.
The scheduler-level wording with real plugins (merged taint reasons, the NodeAffinity
PreFilter) is checked in test_kube_scheduler_tainttoleration.py and
tests/placement/test_placement_kube_wording.py.
"""

from __future__ import annotations

import pytest

from gpuplane.placement import fit_error

F1 = "Node(s) failed Filter plugin FalseFilter-1"
F2 = "Node(s) failed Filter plugin FalseFilter-2"
PRE = "Node(s) failed PreFilter plugin FalsePreFilter"

# (name, all nodes, histogram, PreFilter message, expected)
CASES = [
    ("nodes failed Prefilter plugin", 3, {PRE: 3}, PRE,
     "0/3 nodes are available: Node(s) failed PreFilter plugin FalsePreFilter."),
    ("nodes failed one Filter plugin with an empty PostFilterMsg", 3, {F1: 3}, None,
     "0/3 nodes are available: 3 Node(s) failed Filter plugin FalseFilter-1."),
    ("nodes failed two Filter plugins with an empty PostFilterMsg", 3, {F1: 2, F2: 1}, None,
     "0/3 nodes are available: 1 Node(s) failed Filter plugin FalseFilter-2, "
     "2 Node(s) failed Filter plugin FalseFilter-1."),
    ("failed to Permit on node", 1, {"Node failed Permit plugin Permit-1": 1}, None,
     "0/1 nodes are available: 1 Node failed Permit plugin Permit-1."),
    ("failed to Reserve on node", 1, {"Node failed Reserve plugin Reserve-1": 1}, None,
     "0/1 nodes are available: 1 Node failed Reserve plugin Reserve-1."),
]


@pytest.mark.parametrize(
    "total, histogram, prefilter, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_fit_error(total, histogram, prefilter, expected):
    assert fit_error(total, histogram, prefilter=prefilter) == expected

