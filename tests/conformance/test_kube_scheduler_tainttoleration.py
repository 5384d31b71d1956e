"""kube-scheduler's TaintToleration plugin, by its own test table.

Source: kubernetes/kubernetes, pkg/scheduler/framework/plugins/tainttoleration/
taint_toleration_test.go at commit cb6ff2d8ce3595f88570f82c7d0e6d98910afd3c
(TestTaintTolerationScore, TestTaintTolerationFilter). The filter's reason is the current
release's wording, "node(s) had untolerated taint(s)" (taint_toleration.go after
kubernetes#134740, which keeps taint keys and values out of pod statuses); the table at that
commit still names the taint.
Not ported: the queueing-hint tables (isSchedulableAfterNodeChange, isSchedulableAfterPodChange),
since gpuplane has no scheduling queue in the brain.
"""

from __future__ import annotations

from typing import Any

import pytest
from kube_scheduler_harness import cluster, node, pod, schedule, scores

from gpuplane.placement import Unschedulable
from gpuplane.placement.scores import TaintTolerationScore

PREFER, NO_SCHEDULE = "PreferNoSchedule", "NoSchedule"


def taint(key: str, value: str, effect: str) -> dict[str, str]:
    return {"key": key, "value": value, "effect": effect}


def tol(key: str, value: str = "", effect: str | None = None, op: str = "Equal") -> dict[str, Any]:
    out: dict[str, Any] = {"key": key, "operator": op}
    if value:
        out["value"] = value
    if effect:
        out["effect"] = effect
    return out


SCORE_CASES = [
    (
        "node with taints tolerated by the pod, gets a higher score than those node with "
        "intolerable taints",
        [tol("foo", "bar", PREFER)],
        [[taint("foo", "bar", PREFER)], [taint("foo", "blah", PREFER)]],
        [100, 0],
    ),
    (
        "the nodes that all of their taints are tolerated by the pod, get the same score, "
        "no matter how many tolerable taints a node has",
        [tol("cpu-type", "arm64", PREFER), tol("disk-type", "ssd", PREFER)],
        [
            [],
            [taint("cpu-type", "arm64", PREFER)],
            [taint("cpu-type", "arm64", PREFER), taint("disk-type", "ssd", PREFER)],
        ],
        [100, 100, 100],
    ),
    (
        "the more intolerable taints a node has, the lower score it gets.",
        [tol("foo", "bar", PREFER)],
        [
            [],
            [taint("cpu-type", "arm64", PREFER)],
            [taint("cpu-type", "arm64", PREFER), taint("disk-type", "ssd", PREFER)],
        ],
        [100, 50, 0],
    ),
    (
        "only taints and tolerations that have effect PreferNoSchedule are checked by "
        "taints-tolerations priority function",
        [tol("cpu-type", "arm64", NO_SCHEDULE), tol("disk-type", "ssd", NO_SCHEDULE)],
        [
            [],
            [taint("cpu-type", "arm64", NO_SCHEDULE)],
            [taint("cpu-type", "arm64", PREFER), taint("disk-type", "ssd", PREFER)],
        ],
        [100, 100, 0],
    ),
    (
        "Default behaviour No taints and tolerations, lands on node with no taints",
        [],
        [[], [taint("cpu-type", "arm64", PREFER)]],
        [100, 0],
    ),
]


@pytest.mark.parametrize(
    "tolerations, node_taints, expected",
    [c[1:] for c in SCORE_CASES],
    ids=[c[0] for c in SCORE_CASES],
)
def test_score(tolerations, node_taints, expected):
    nodes = [node(f"node{chr(65 + i)}", taints=t) for i, t in enumerate(node_taints)]
    got = scores(TaintTolerationScore(), cluster(nodes), pod("pod1", tolerations=tolerations))
    assert got == expected


UNTOLERATED = "0/1 nodes are available: 1 node(s) had untolerated taint(s)."

FILTER_CASES = [
    (
        "A pod having no tolerations can't be scheduled onto a node with nonempty taints",
        [],
        [taint("dedicated", "user1", NO_SCHEDULE)],
        UNTOLERATED,
    ),
    (
        "A pod which can be scheduled on a dedicated node assigned to user1 with effect "
        "NoSchedule",
        [tol("dedicated", "user1", NO_SCHEDULE)],
        [taint("dedicated", "user1", NO_SCHEDULE)],
        None,
    ),
    (
        "A pod which can't be scheduled on a dedicated node assigned to user2 with effect "
        "NoSchedule",
        [tol("dedicated", "user2", NO_SCHEDULE)],
        [taint("dedicated", "user1", NO_SCHEDULE)],
        UNTOLERATED,
    ),
    (
        "A pod can be scheduled onto the node, with a toleration uses operator Exists that "
        "tolerates the taints on the node",
        [tol("foo", effect=NO_SCHEDULE, op="Exists")],
        [taint("foo", "bar", NO_SCHEDULE)],
        None,
    ),
    (
        "A pod has multiple tolerations, node has multiple taints, all the taints are tolerated, "
        "pod can be scheduled onto the node",
        [tol("dedicated", "user2", NO_SCHEDULE), tol("foo", effect=NO_SCHEDULE, op="Exists")],
        [taint("dedicated", "user2", NO_SCHEDULE), taint("foo", "bar", NO_SCHEDULE)],
        None,
    ),
    (
        "A pod has a toleration that keys and values match the taint on the node, but "
        "(non-empty) effect doesn't match, can't be scheduled onto the node",
        [tol("foo", "bar", PREFER)],
        [taint("foo", "bar", NO_SCHEDULE)],
        UNTOLERATED,
    ),
    (
        "The pod has a toleration that keys and values match the taint on the node, the effect "
        "of toleration is empty, and the effect of taint is NoSchedule. Pod can be scheduled "
        "onto the node",
        [tol("foo", "bar")],
        [taint("foo", "bar", NO_SCHEDULE)],
        None,
    ),
    (
        "The pod has a toleration that key and value don't match the taint on the node, but the "
        "effect of taint on node is PreferNoSchedule. Pod can be scheduled onto the node",
        [tol("dedicated", "user2", NO_SCHEDULE)],
        [taint("dedicated", "user1", PREFER)],
        None,
    ),
    (
        "The pod has no toleration, but the effect of taint on node is PreferNoSchedule. Pod can "
        "be scheduled onto the node",
        [],
        [taint("dedicated", "user1", PREFER)],
        None,
    ),
]


@pytest.mark.parametrize(
    "tolerations, node_taints, message",
    [c[1:] for c in FILTER_CASES],
    ids=[c[0] for c in FILTER_CASES],
)
def test_filter(tolerations, node_taints, message):
    state = cluster([node("nodeA", taints=node_taints)])
    decision = schedule(state, pod("pod1", tolerations=tolerations))
    if message is None:
        assert not isinstance(decision, Unschedulable), decision
    else:
        assert isinstance(decision, Unschedulable) and decision.message == message
