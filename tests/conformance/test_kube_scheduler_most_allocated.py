"""NodeResourcesFit's MostAllocated scoring strategy, by kube-scheduler's own table.

Source: kubernetes/kubernetes, pkg/scheduler/framework/plugins/noderesources/
most_allocated_test.go at commit 072825f9a367e9ca0f73f91830945f1b7f46e0d9
(TestMostAllocatedScoringStrategy). Upstream's nodes give cpu in cores and memory in bytes;
gpuplane reads the same quantities. Not ported (4): "Resources not set, pods scheduled with
error" and the three weight-validation cases (negative, zero, above MaxNodeScore): gpuplane's
scoring weights are code in its policy table, not user configuration, so there is nothing to
validate.
"""

from __future__ import annotations

import pytest
from kube_scheduler_harness import DEFAULT, EXT, REQ, WITH_EXT, cap, cluster, node, pod, scores

from gpuplane.placement.scores import MostAllocatedScore

CASES = [
    ("nothing scheduled, nothing requested", (), [cap("4000", "10000")] * 2, [], DEFAULT, [0, 0]),
    ("nothing scheduled, resources requested, differently sized nodes", REQ,
     [cap("4000", "10000"), cap("6000", "10000")], [], DEFAULT, [62, 50]),
    ("no resources requested, pods scheduled with resources", (), [cap("10000", "20000")] * 2,
     [("node1", {"cpu": "3000", "memory": "0"}), ("node1", {"cpu": "3000", "memory": "0"}),
      ("node2", {"cpu": "3000", "memory": "0"}), ("node2", {"cpu": "3000", "memory": "5000"})],
     DEFAULT, [30, 42]),
    ("resources requested, pods scheduled with resources", REQ, [cap("10000", "20000")] * 2,
     [("node1", {"cpu": "3000", "memory": "0"}), ("node2", {"cpu": "3000", "memory": "5000"})],
     DEFAULT, [42, 55]),
    ("resources requested equal node capacity",
     ({"cpu": "2000", "memory": "4000"}, {"cpu": "3000", "memory": "5000"}),
     [cap("5000", "10000"), cap("10000", "9000")], [], DEFAULT, [95, 75]),
    ("nothing scheduled, resources requested, differently sized nodes (memory weighs 2)", REQ,
     [cap("4000", "10000"), cap("6000", "10000")], [], {"memory": 2, "cpu": 1}, [58, 50]),
    # Intentional divergence: upstream scores a container without requests as 100m CPU and
    # 200Mi (non-zero defaults, scoring only), giving [80, 30]; gpuplane scores the requests
    # pods state, so empty containers weigh nothing here.
    ("no resources requested, pods scheduled, nonzero request for resource", ({},),
     [cap("250m", "1000Mi")] * 2, [("node1", {}), ("node1", {})], DEFAULT, [0, 0]),
    ("bypass extended resource if the pod does not request", REQ,
     [cap("6000", "10000"), cap("6000", "10000", x="4")], [], WITH_EXT, [50, 50]),
    ("honor extended resource if the pod request",
     ({"cpu": "3000", "memory": "5000", EXT: "2"},),
     [cap("6000", "10000", x="4"), cap("6000", "10000", x="10")], [], WITH_EXT, [50, 40]),
    ("if the node doesn't have a resource", ({"cpu": "3000", "memory": "4000"},),
     [cap("6000", "10000"), cap("6000", "10000", x="4")], [],
     {EXT: 2, "cpu": 1, "memory": 1}, [45, 45]),
]

@pytest.mark.parametrize(
    "requests, capacities, existing, weights, expected", [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_most_allocated(requests, capacities, existing, weights, expected):
    nodes = [node(f"node{i + 1}", c) for i, c in enumerate(capacities)]
    pods = [pod("e", r, node_name=n) for n, r in existing]
    got = scores(MostAllocatedScore(weights), cluster(nodes, pods), pod("p", *requests))
    assert got == expected
