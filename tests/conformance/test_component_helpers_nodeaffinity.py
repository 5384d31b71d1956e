"""component-helpers' node affinity matching, by its own tables.

Source: kubernetes/kubernetes, staging/src/k8s.io/component-helpers/scheduling/corev1/
nodeaffinity/nodeaffinity_test.go at commit 2d58ef7868e6efda493e876aeaf72fb7dfea7c44
(TestNodeSelectorMatch, TestPreferredSchedulingTermsScore, TestNodeSelectorRequirementsAsSelector,
TestPodMatchesNodeSelectorAndAffinityTerms).
Where upstream's helper returns a parse error, gpuplane's reader refuses the manifest with an
InputError (the API server's validation refuses the same objects); a case expecting an error
asserts that refusal.
Not ported (26): "nil node" (gpuplane has no nil node), and 25 cases of
TestPodMatchesNodeSelectorAndAffinityTerms whose inputs and expectations are the same as the
NodeAffinity plugin table's (ported in test_kube_scheduler_nodeaffinity.py).
"""

from __future__ import annotations

from typing import Any

import pytest
from kube_scheduler_harness import node, pod, read_nodes, read_pod

from gpuplane.errors import InputError
from gpuplane.objects.scheduling import (
    NodeSelectorRequirement,
    NodeSelectorTerm,
    SelectorOperator,
    valid_requirement,
)


def expr(key: str, op: str, *values: str) -> dict[str, Any]:
    return {"key": key, "operator": op, "values": list(values)}


def field(*values: str) -> dict[str, Any]:
    return {"key": "metadata.name", "operator": "In", "values": list(values)}


def matches(affinity: dict[str, Any], name: str, labels: dict[str, str]) -> bool:
    p = read_pod(pod("p", affinity=affinity))
    (n,) = read_nodes([node(name, labels=labels)])
    return p.affinity.matches(n.name, dict(n.labels))


def required(*terms: dict[str, Any]) -> dict[str, Any]:
    return {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": list(terms)}}


SELECTOR_MATCH = [
    ("invalid field selector and label selector",
     required({"matchFields": [field("host_1", "host_2")]},
              {"matchExpressions": [expr("label_1", "In", "label_1_val")],
               "matchFields": [field("host_1")]},
              {"matchExpressions": [expr("invalid key", "In", "label_value")]}),
     "host_1", {}, "error"),
    ("node matches field selector, but not labels",
     required({"matchExpressions": [expr("label_1", "In", "label_1_val")],
               "matchFields": [field("host_1")]}), "host_1", {}, False),
    ("node matches field selector and label selector",
     required({"matchExpressions": [expr("label_1", "In", "label_1_val")],
               "matchFields": [field("host_1")]}), "host_1", {"label_1": "label_1_val"}, True),
    ("second term matches",
     required({"matchExpressions": [expr("label_1", "In", "label_1_val")]},
              {"matchFields": [field("host_1")]}), "host_1", {}, True),
]


@pytest.mark.parametrize(
    "affinity, name, labels, expected", [c[1:] for c in SELECTOR_MATCH],
    ids=[c[0] for c in SELECTOR_MATCH],
)
def test_node_selector_match(affinity, name, labels, expected):
    if expected == "error":
        with pytest.raises(InputError):
            matches(affinity, name, labels)
    else:
        assert matches(affinity, name, labels) is expected


def preferred(*terms: tuple[int, dict[str, Any]]) -> dict[str, Any]:
    return {
        "preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": w, "preference": t} for w, t in terms
        ]
    }


PREFERRED = [
    ("invalid field selector and label selector",
     preferred((1, {"matchFields": [field("host_1", "host_2")]}),
               (1, {"matchExpressions": [expr("label_1", "In", "label_1_val")],
                    "matchFields": [field("host_1")]}),
               (1, {"matchExpressions": [expr("invalid key", "In", "label_value")]})),
     "host_1", {}, "error"),
    # Intentional divergence: upstream's helper skips a weight-0 term without validating it;
    # the API server refuses weight 0 (1-100), and so does gpuplane's reader.
    ("invalid field selector but no weight, error not reported",
     preferred((0, {"matchFields": [field("host_1", "host_2")]})), "host_1", {}, "error"),
    ("first and third term match",
     preferred((5, {"matchFields": [field("host_1")]}),
               (7, {"matchExpressions": [expr("unknown_label", "In", "unknown_label_val")]}),
               (11, {"matchExpressions": [expr("label_1", "In", "label_1_val")]})),
     "host_1", {"label_1": "label_1_val"}, 16),
]


@pytest.mark.parametrize(
    "affinity, name, labels, expected", [c[1:] for c in PREFERRED], ids=[c[0] for c in PREFERRED]
)
def test_preferred_scheduling_terms_score(affinity, name, labels, expected):
    def score() -> int:
        p = read_pod(pod("p", affinity=affinity))
        (n,) = read_nodes([node(name, labels=labels)])
        return p.affinity.preference(n.name, dict(n.labels))

    if expected == "error":
        with pytest.raises(InputError):
            score()
    else:
        assert score() == expected


def req(key: str, op: str, *values: str) -> NodeSelectorRequirement:
    return NodeSelectorRequirement(key, SelectorOperator(op), tuple(values))


# Upstream turns requirements into a labels.Selector; gpuplane keeps them as requirements. The
# cases check what the selector would do: no requirements select nothing, the valid ones are
# accepted (and match as their selector does), values on Exists are refused.
AS_SELECTOR = [
    ("[0] nil requirements select nothing", None, {"foo": "bar"}, False),
    ("[1] empty requirements select nothing", (), {"foo": "bar"}, False),
    ("[2] foo in (baz,bar)", (req("foo", "In", "bar", "baz"),), {"foo": "baz"}, True),
    ("[3] Exists with values is refused", (req("foo", "Exists", "bar", "baz"),), {"foo": "x"},
     "invalid"),
    ("[4] foo>1", (req("foo", "Gt", "1"),), {"foo": "2"}, True),
    ("[5] bar<7", (req("bar", "Lt", "7"),), {"bar": "6"}, True),
]


@pytest.mark.parametrize(
    "requirements, labels, expected", [c[1:] for c in AS_SELECTOR], ids=[c[0] for c in AS_SELECTOR]
)
def test_node_selector_requirements_as_selector(requirements, labels, expected):
    t = NodeSelectorTerm(match_expressions=tuple(requirements or ()))
    if expected == "invalid":
        assert not all(valid_requirement(r) for r in t.match_expressions)
        assert t.matches("n", labels) is False
    else:
        assert all(valid_requirement(r) for r in t.match_expressions)
        assert t.matches("n", labels) is expected


# Intentional divergence: upstream's helper says these match no node; the API server refuses a
# required node affinity without terms, and gpuplane's reader does the same.
NO_TERMS = [
    ("Pod with a nil []NodeSelectorTerm in affinity, can't match the node's labels and won't "
     "schedule onto the node", None),
    ("Pod with an empty []NodeSelectorTerm in affinity, can't match the node's labels and won't "
     "schedule onto the node", []),
]


@pytest.mark.parametrize("terms", [c[1] for c in NO_TERMS], ids=[c[0] for c in NO_TERMS])
def test_pod_matches_without_terms_is_refused(terms):
    affinity = {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": terms}}
    with pytest.raises(InputError):
        matches(affinity, "node", {"foo": "bar"})
