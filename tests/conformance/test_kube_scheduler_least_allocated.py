"""NodeResourcesFit's LeastAllocated scoring strategy, by kube-scheduler's own table.

Source: kubernetes/kubernetes, pkg/scheduler/framework/plugins/noderesources/
least_allocated_test.go at commit 8519d3399f10be33a45da368a48ee763acbe3999
(TestLeastAllocatedScoringStrategy). Upstream's nodes give cpu in cores and memory in bytes;
gpuplane reads the same quantities. Not ported (4): "Resources not set, pods scheduled with
error" and the three weight-validation cases (negative, zero, above MaxNodeScore): gpuplane's
scoring weights are code in its policy table, not user configuration, so there is nothing to
validate.
"""

from __future__ import annotations

import pytest
from kube_scheduler_harness import DEFAULT, EXT, REQ, WITH_EXT, cap, cluster, node, pod, scores

from gpuplane.placement.scores import LeastAllocatedScore

CASES = [
    ("nothing scheduled, nothing requested", (), [cap("4000", "10000")] * 2, [], DEFAULT,
     [100, 100]),
    ("nothing scheduled, resources requested, differently sized nodes", REQ,
     [cap("4000", "10000"), cap("6000", "10000")], [], DEFAULT, [37, 50]),
    ("no resources requested, pods scheduled", (), [cap("4000", "10000")] * 2,
     [("node1", {}), ("node1", {}), ("node2", {}), ("node2", {})], DEFAULT, [100, 100]),
    ("no resources requested, pods scheduled with resources", (), [cap("10000", "20000")] * 2,
     [("node1", {"cpu": "3000", "memory": "0"}), ("node1", {"cpu": "3000", "memory": "0"}),
      ("node2", {"cpu": "3000", "memory": "0"}), ("node2", {"cpu": "3000", "memory": "5000"})],
     DEFAULT, [70, 57]),
    ("resources requested, pods scheduled with resources", REQ, [cap("10000", "20000")] * 2,
     [("node1", {"cpu": "3000", "memory": "0"}), ("node2", {"cpu": "3000", "memory": "5000"})],
     DEFAULT, [57, 45]),
    ("resources requested, pods scheduled with resources, differently sized nodes", REQ,
     [cap("10000", "20000"), cap("10000", "50000")],
     [("node1", {"cpu": "3000", "memory": "0"}), ("node2", {"cpu": "3000", "memory": "5000"})],
     DEFAULT, [57, 60]),
    ("requested resources exceed node capacity", ({"cpu": "3000", "memory": "0"},),
     [cap("4000", "10000")] * 2,
     [("node1", {"cpu": "3000", "memory": "0"}), ("node2", {"cpu": "3000", "memory": "5000"})],
     DEFAULT, [50, 25]),
    ("zero node resources, pods scheduled with resources", (), [{}, {}],
     [("node1", {"cpu": "3000", "memory": "0"}), ("node2", {"cpu": "3000", "memory": "5000"})],
     DEFAULT, [0, 0]),
    ("nothing scheduled, resources requested with different weight on CPU and memory, "
     "differently sized nodes", REQ, [cap("4000", "10000"), cap("6000", "10000")], [],
     {"memory": 2, "cpu": 1}, [41, 50]),
    ("bypass extended resource if the pod does not request", REQ,
     [cap("6000", "10000"), cap("6000", "10000", x="4")], [], WITH_EXT, [50, 50]),
    ("honor extended resource if the pod requests",
     ({"cpu": "3000", "memory": "5000", EXT: "2"},),
     [cap("6000", "10000", x="4"), cap("6000", "10000", x="10")], [], WITH_EXT, [50, 60]),
    ("if the node doesn't have a resource", ({"cpu": "3000", "memory": "4000"},),
     [cap("6000", "10000"), cap("6000", "10000", x="4")], [],
     {EXT: 2, "cpu": 1, "memory": 1}, [55, 55]),
]


@pytest.mark.parametrize(
    "requests, capacities, existing, weights, expected", [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_least_allocated(requests, capacities, existing, weights, expected):
    nodes = [node(f"node{i + 1}", c) for i, c in enumerate(capacities)]
    pods = [pod("e", r, node_name=n) for n, r in existing]
    got = scores(LeastAllocatedScore(weights), cluster(nodes, pods), pod("p", *requests))
    assert got == expected
