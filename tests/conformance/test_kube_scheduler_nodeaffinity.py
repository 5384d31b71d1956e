"""kube-scheduler's NodeAffinity plugin (PreFilter, Filter, Score), by its own tables.

Source: kubernetes/kubernetes, pkg/scheduler/framework/plugins/nodeaffinity/
node_affinity_test.go at commit 17bae91f207a5f2b101e581c90f7a72fc9adef96 (TestNodeAffinity,
TestNodeAffinityPriority). Each filter case runs gpuplane's NodeAffinity PreFilter and Filter
on the one node of the case, as upstream's test does.
Not ported (8): the five cases of NodeAffinityArgs.addedAffinity (scheduler-enforced affinity is
not configurable in gpuplane), "Matches node selector/affinity correctly even if PreFilter is
not called" and "calculate the priorities correctly even if PreScore is not called" (gpuplane's
filter and score have no separate Pre step to skip). The queueing-hint table is not ported
(no scheduling queue in the brain).
"""

from __future__ import annotations

from typing import Any

import pytest
from kube_scheduler_harness import cluster, cycle, node, pod, read_pod, scores

from gpuplane.placement.filters import NodeAffinityFilter
from gpuplane.placement.filters.node_affinity import CONFLICT, REASON
from gpuplane.placement.scores import NodeAffinityScore


def expr(key: str, op: str, *values: str) -> dict[str, Any]:
    out: dict[str, Any] = {"key": key, "operator": op}
    if values:
        out["values"] = list(values)
    return out


def name_in(*names: str) -> dict[str, Any]:
    return {"key": "metadata.name", "operator": "In", "values": list(names)}


def required(*terms: dict[str, Any]) -> dict[str, Any]:
    return {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": list(terms)}}


def term(*expressions: dict[str, Any], fields: tuple[dict[str, Any], ...] = ()) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if expressions:
        out["matchExpressions"] = list(expressions)
    if fields:
        out["matchFields"] = list(fields)
    if not out:
        out["matchExpressions"] = []
    return out


GPU_EXISTS = expr("GPU", "Exists")

# (name, nodeSelector, affinity, node name, labels, PreFilter answer, passes the filter)
# The PreFilter answer is None (every node), a set of node names, or the rejection message.
FILTER = [
    ("missing labels", {"foo": "bar"}, None, "", {}, None, False),
    ("same labels", {"foo": "bar"}, None, "", {"foo": "bar"}, None, True),
    ("node labels are superset", {"foo": "bar"}, None, "", {"foo": "bar", "baz": "blah"},
     None, True),
    ("node labels are subset", {"foo": "bar", "baz": "blah"}, None, "", {"foo": "bar"}, None,
     False),
    ("Pod with matchExpressions using In operator that matches the existing node", None,
     required(term(expr("foo", "In", "bar", "value2"))), "", {"foo": "bar"}, None, True),
    ("Pod with matchExpressions using Gt operator that matches the existing node", None,
     required(term(expr("kernel-version", "Gt", "0204"))), "", {"kernel-version": "0206"},
     None, True),
    ("Pod with matchExpressions using NotIn operator that matches the existing node", None,
     required(term(expr("mem-type", "NotIn", "DDR", "DDR2"))), "", {"mem-type": "DDR3"}, None,
     True),
    ("Pod with matchExpressions using Exists operator that matches the existing node", None,
     required(term(GPU_EXISTS)), "", {"GPU": "NVIDIA-GRID-K1"}, None, True),
    ("Pod with affinity that don't match node's labels won't schedule onto the node", None,
     required(term(expr("foo", "In", "value1", "value2"))), "", {"foo": "bar"}, None, False),
    ("Pod with empty MatchExpressions is not a valid value will match no objects and won't "
     "schedule onto the node", None, required(term()), "", {"foo": "bar"}, None, False),
    ("Pod with no Affinity will schedule onto a node", None, None, "", {"foo": "bar"}, None,
     True),
    ("Pod with Affinity but nil NodeSelector will schedule onto a node", None, {}, "",
     {"foo": "bar"}, None, True),
    ("Pod with multiple matchExpressions ANDed that matches the existing node", None,
     required(term(GPU_EXISTS, expr("GPU", "NotIn", "AMD", "INTER"))), "",
     {"GPU": "NVIDIA-GRID-K1"}, None, True),
    ("Pod with multiple matchExpressions ANDed that doesn't match the existing node", None,
     required(term(GPU_EXISTS, expr("GPU", "In", "AMD", "INTER"))), "",
     {"GPU": "NVIDIA-GRID-K1"}, None, False),
    ("Pod with multiple NodeSelectorTerms ORed in affinity, matches the node's labels and will "
     "schedule onto the node", None,
     required(term(expr("foo", "In", "bar", "value2")),
              term(expr("diffkey", "In", "wrong", "value2"))), "", {"foo": "bar"}, None, True),
    ("Pod with an Affinity and a PodSpec.NodeSelector(the old thing that we are deprecating) "
     "both are satisfied, will schedule onto the node", {"foo": "bar"},
     required(term(expr("foo", "Exists"))), "", {"foo": "bar"}, None, True),
    ("Pod with an Affinity matches node's labels but the PodSpec.NodeSelector(the old thing "
     "that we are deprecating) is not satisfied, won't schedule onto the node", {"foo": "bar"},
     required(term(expr("foo", "Exists"))), "", {"foo": "barrrrrr"}, None, False),
    ("Pod with an invalid value in Affinity term won't be scheduled onto the node", None,
     required(term(expr("foo", "NotIn", "invalid value: ___@#$%^"))), "", {"foo": "bar"}, None,
     False),
    ("Pod with matchFields using In operator that matches the existing node", None,
     required(term(fields=(name_in("node1"),))), "node1", {}, {"node1"}, True),
    ("Pod with matchFields using In operator that does not match the existing node", None,
     required(term(fields=(name_in("node1"),))), "node2", {}, {"node1"}, False),
    ("Pod with two terms: matchFields does not match, but matchExpressions matches", None,
     required(term(fields=(name_in("node1"), name_in("node2"))), term(expr("foo", "In", "bar"))),
     "node2", {"foo": "bar"}, None, True),
    ("Pod with one term: matchFields does not match, but matchExpressions matches", None,
     required(term(expr("foo", "In", "bar"), fields=(name_in("node1"),))), "node2",
     {"foo": "bar"}, {"node1"}, False),
    ("Pod with one term: both matchFields and matchExpressions match", None,
     required(term(expr("foo", "In", "bar"), fields=(name_in("node1"),))), "node1",
     {"foo": "bar"}, {"node1"}, True),
    ("Pod with two terms: both matchFields and matchExpressions do not match", None,
     required(term(fields=(name_in("node1"),)), term(expr("foo", "In", "not-match-to-bar"))),
     "node2", {"foo": "bar"}, None, False),
    ("Pod with two terms of node.Name affinity", None,
     required(term(fields=(name_in("node1"),)), term(fields=(name_in("node2"),))), "node2", {},
     {"node1", "node2"}, True),
    ("Pod with two conflicting mach field requirements", None,
     required(term(fields=(name_in("node1"), name_in("node2"))),), "node2", {"foo": "bar"},
     CONFLICT, False),
]


@pytest.mark.parametrize(
    "selector, affinity, node_name, labels, prefilter, passes", [c[1:] for c in FILTER],
    ids=[c[0] for c in FILTER],
)
def test_filter(selector, affinity, node_name, labels, prefilter, passes):
    # A nameless node (upstream's default) gets a name; no case selects on it.
    state = cluster([node(node_name or "node", labels=labels)])
    c = cycle(state, read_pod(pod("p", node_selector=selector, affinity=affinity)))
    plugin = NodeAffinityFilter()
    answer = plugin.prefilter(c)
    if isinstance(prefilter, str):
        assert answer.rejection == prefilter
    elif prefilter is None:
        assert answer.rejection is None and answer.nodes is None
    else:
        # Upstream returns the names; gpuplane, the mask of this cluster's nodes among them.
        assert answer.rejection is None and answer.nodes is not None
        assert list(answer.nodes) == [n.name in prefilter for n in state.nodes]
    failing = {reason: mask for reason, mask in plugin.filter(c)}
    assert bool(failing.get(REASON, [False])[0]) is not passes


LABEL1, LABEL2, LABEL3 = {"foo": "bar"}, {"key": "value"}, {"az": "az1"}
LABEL4 = {"abc": "az11", "def": "az22"}
LABEL5 = {"foo": "bar", "key": "value", "az": "az1"}


def preferred(*terms: tuple[int, dict[str, Any]]) -> dict[str, Any]:
    return {
        "preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": w, "preference": t} for w, t in terms
        ]
    }


AFFINITY1 = preferred((2, term(expr("foo", "In", "bar"))))
AFFINITY2 = preferred(
    (2, term(expr("foo", "In", "bar"))),
    (4, term(expr("key", "In", "value"))),
    (5, term(expr("foo", "In", "bar"), expr("key", "In", "value"), expr("az", "In", "az1"))),
)

# (name, affinity, nodes as (name, labels), expected scores)
PRIORITY = [
    ("all nodes are same priority as NodeAffinity is nil", None,
     [("node1", LABEL1), ("node2", LABEL2), ("node3", LABEL3)], [0, 0, 0]),
    # Upstream's PreScore returns Skip; gpuplane's plugin then adds nothing to any node.
    ("Skip is returned in PreScore when NodeAffinity is nil", None, [("node1", LABEL1)], [0]),
    # Intentional divergence: upstream's PreScore fails the cycle with a validation error for
    # the key "invalid key"; gpuplane lets the malformed term match no node (score 0). The API
    # server refuses such a pod, so only hand-made objects can carry one.
    ("PreScore returns error when an incoming Pod has a broken affinity",
     preferred((2, term(expr("invalid key", "In", "bar")))), [("node1", LABEL1)], [0]),
    ("no node matches preferred scheduling requirements in NodeAffinity of pod so all nodes' "
     "priority is zero", AFFINITY1, [("node1", LABEL4), ("node2", LABEL2), ("node3", LABEL3)],
     [0, 0, 0]),
    ("only node1 matches the preferred scheduling requirements of pod", AFFINITY1,
     [("node1", LABEL1), ("node2", LABEL2), ("node3", LABEL3)], [100, 0, 0]),
    ("all nodes matches the preferred scheduling requirements of pod but with different "
     "priorities ", AFFINITY2, [("node1", LABEL1), ("node5", LABEL5), ("node2", LABEL2)],
     [18, 100, 36]),
]


@pytest.mark.parametrize(
    "affinity, nodes, expected", [c[1:] for c in PRIORITY], ids=[c[0] for c in PRIORITY]
)
def test_priority(affinity, nodes, expected):
    state = cluster([node(n, labels=labels) for n, labels in nodes])
    assert scores(NodeAffinityScore(), state, pod("p", affinity=affinity)) == expected
