"""Filters against kube-scheduler semantics: taints, selectors, affinity, resources, reasons."""

from __future__ import annotations

import pytest

from gpuplane.cluster import ClusterState
from gpuplane.objects.scheduling import (
    NodeAffinity,
    NodeSelectorRequirement,
    NodeSelectorTerm,
    SelectorOperator,
    Taint,
    TaintEffect,
    Toleration,
)
from gpuplane.placement import Placement, Scheduler, Unschedulable, fit_error

from helpers import GPU_TAINT, TOLERATE_GPU, cpu_node, gpu_node, pod, whole

NO_SCHEDULE, NO_EXECUTE, PREFER = (
    TaintEffect.NO_SCHEDULE,
    TaintEffect.NO_EXECUTE,
    TaintEffect.PREFER_NO_SCHEDULE,
)


def schedule(nodes, p):
    return Scheduler(ClusterState(nodes)).schedule(p)


# -- taints and tolerations ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("toleration", "taint", "tolerated"),
    [
        (Toleration("k", "Equal", "v", NO_SCHEDULE), Taint("k", "v", NO_SCHEDULE), True),
        (Toleration("k", "Equal", "other", NO_SCHEDULE), Taint("k", "v", NO_SCHEDULE), False),
        (Toleration("k", "Exists"), Taint("k", "anything", NO_EXECUTE), True),
        (Toleration("k", "Exists", effect=NO_SCHEDULE), Taint("k", "v", NO_EXECUTE), False),
        (Toleration("", "Exists"), Taint("whatever", "v", NO_EXECUTE), True),  # tolerates all
        (Toleration("other", "Exists"), Taint("k", "v", NO_SCHEDULE), False),
        (Toleration("k", "Equal", ""), Taint("k", "", NO_SCHEDULE), True),  # empty value
        (Toleration("k", "Equal", "v"), Taint("k", "v", PREFER), True),  # empty effect: all
    ],
)
def test_toleration_matches_kubernetes(toleration, taint, tolerated):
    assert toleration.tolerates(taint) is tolerated


def test_untolerated_noschedule_and_noexecute_filter_but_prefer_does_not():
    nodes = [
        gpu_node("a", taints=(Taint("t", "x", NO_SCHEDULE),)),
        gpu_node("b", taints=(Taint("t", "x", NO_EXECUTE),)),
        gpu_node("c", taints=(Taint("t", "x", PREFER),)),
    ]
    decision = schedule(nodes, pod("p", whole(1)))
    assert isinstance(decision, Placement) and decision.node == "c"


def test_taint_reasons_are_merged_across_nodes_without_keys_or_values():
    nodes = [
        gpu_node("a", taints=(GPU_TAINT, Taint("team", "ml"))),
        gpu_node("b", taints=(Taint("team", "ml"),)),
        gpu_node("c", taints=(Taint("team", "ml", PREFER), Taint("dedicated", ""))),
    ]
    decision = schedule(nodes, pod("p", whole(1), tolerations=(TOLERATE_GPU,)))
    assert isinstance(decision, Unschedulable)
    # The current kube-scheduler keeps taint keys and values out of the message.
    assert decision.message == "0/3 nodes are available: 3 node(s) had untolerated taint(s)."


def test_cordoned_node_is_unschedulable_unless_tolerated():
    nodes = [gpu_node("a", unschedulable=True)]
    decision = schedule(nodes, pod("p", whole(1)))
    assert isinstance(decision, Unschedulable)
    assert decision.message == "0/1 nodes are available: 1 node(s) were unschedulable."
    tolerant = pod(
        "q", whole(1), tolerations=(Toleration("node.kubernetes.io/unschedulable", "Exists"),)
    )
    assert isinstance(schedule(nodes, tolerant), Placement)


def test_node_name_pins_the_pod():
    nodes = [gpu_node("a"), gpu_node("b")]
    decision = schedule(nodes, pod("p", whole(1), node_name="b"))
    assert isinstance(decision, Placement) and decision.node == "b"
    missing = schedule(nodes, pod("p", whole(1), node_name="zz"))
    assert isinstance(missing, Unschedulable)
    assert (
        missing.message
        == "0/2 nodes are available: 2 node(s) didn't match the requested node name."
    )


# -- node selector and affinity --------------------------------------------------------------


def req(key, op, *values):
    return NodeSelectorRequirement(key, SelectorOperator(op), tuple(values))


LABELS = {"zone": "a", "gpu.memory": "81920", "tier": "gold"}


@pytest.mark.parametrize(
    ("requirement", "matches"),
    [
        (req("zone", "In", "a", "b"), True),
        (req("zone", "In", "b"), False),
        (req("zone", "NotIn", "b"), True),
        (req("zone", "NotIn", "a"), False),
        (req("absent", "NotIn", "a"), True),  # NotIn matches a missing label
        (req("zone", "Exists"), True),
        (req("absent", "Exists"), False),
        (req("absent", "DoesNotExist"), True),
        (req("zone", "DoesNotExist"), False),
        (req("gpu.memory", "Gt", "40000"), True),
        (req("gpu.memory", "Gt", "81920"), False),
        (req("gpu.memory", "Lt", "100000"), True),
        (req("zone", "Gt", "1"), False),  # not an integer: no match
        (req("absent", "Lt", "1"), False),
    ],
)
def test_requirement_operators(requirement, matches):
    assert requirement.matches(LABELS) is matches


def test_terms_are_ored_and_expressions_anded():
    term_a = NodeSelectorTerm((req("zone", "In", "a"), req("tier", "In", "silver")))
    term_b = NodeSelectorTerm((req("tier", "In", "gold"),))
    assert not NodeAffinity(required=(term_a,)).matches("n", LABELS)
    assert NodeAffinity(required=(term_a, term_b)).matches("n", LABELS)


def test_empty_term_matches_nothing_and_match_fields_use_node_name():
    assert not NodeSelectorTerm().matches("n", LABELS)
    by_name = NodeSelectorTerm(match_fields=(req("metadata.name", "In", "n"),))
    assert by_name.matches("n", {}) and not by_name.matches("m", {})


def test_node_selector_and_affinity_must_both_match():
    nodes = [
        gpu_node("a", labels={"zone": "a"}),
        gpu_node("b", labels={"zone": "b", "team": "x"}),
        gpu_node("c", labels={"zone": "b"}),
    ]
    affinity = NodeAffinity(required=(NodeSelectorTerm((req("team", "DoesNotExist"),)),))
    decision = schedule(nodes, pod("p", whole(1), node_selector={"zone": "b"}, affinity=affinity))
    assert isinstance(decision, Placement) and decision.node == "c"
    none = schedule(nodes, pod("p", whole(1), node_selector={"zone": "z"}))
    assert isinstance(none, Unschedulable)
    assert (
        none.message
        == "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector."
    )


# -- resources and the FitError summary -------------------------------------------------------


def test_fit_error_matches_kube_scheduler_format():
    nodes = [gpu_node(f"gpu-{i}", taints=(GPU_TAINT,)) for i in range(4)]
    nodes += [cpu_node(f"cpu-{i}") for i in range(8)]
    decision = schedule(nodes, pod("p", whole(1)))
    assert isinstance(decision, Unschedulable)
    # kube-scheduler sorts the "<count> <reason>" strings and ends with a period.
    assert decision.message == (
        "0/12 nodes are available: 4 node(s) had untolerated taint(s), "
        "8 Insufficient nvidia.com/gpu."
    )
    assert decision.reasons == {
        "node(s) had untolerated taint(s)": 4,
        "Insufficient nvidia.com/gpu": 8,
    }


def test_a_node_short_of_several_resources_counts_under_each():
    nodes = [cpu_node("small", cpu_milli=500, memory_mib=100), gpu_node("g", gpus=1)]
    decision = schedule(nodes, pod("p", whole(2), cpu_milli=1000, memory_mib=1024))
    assert isinstance(decision, Unschedulable)
    assert decision.message == (
        "0/2 nodes are available: 1 Insufficient cpu, 1 Insufficient memory, "
        "2 Insufficient nvidia.com/gpu."
    )


def test_a_node_counts_only_at_the_first_filter_it_fails():
    nodes = [cpu_node("tainted-cpu", taints=(GPU_TAINT,))]
    decision = schedule(nodes, pod("p", whole(1)))
    assert isinstance(decision, Unschedulable)
    assert decision.reasons == {"node(s) had untolerated taint(s)": 1}


def test_sort_is_by_string_like_go():
    assert fit_error(12, {"b": 10, "a": 2}) == "0/12 nodes are available: 10 b, 2 a."
    # No reason at all: upstream leaves the colon and adds no period.
    assert fit_error(0, {}) == "0/0 nodes are available:"


def test_too_many_pods_and_extended_resources():
    nodes = [gpu_node("a", pods=1)]
    state = ClusterState(nodes)
    sched = Scheduler(state)
    assert isinstance(sched.place(pod("p1")), Placement)
    full = sched.schedule(pod("p2"))
    assert isinstance(full, Unschedulable) and full.reasons == {"Too many pods": 1}
    rdma = sched.schedule(pod("p3", extended={"rdma/hca": 1}))
    assert isinstance(rdma, Unschedulable) and "Insufficient rdma/hca" in rdma.reasons


def test_unschedulable_decision_changes_nothing():
    state = ClusterState([gpu_node("a", gpus=1)])
    before = state.gpu_free_milli.copy(), state.cpu_free.copy()
    assert isinstance(Scheduler(state).place(pod("p", whole(2))), Unschedulable)
    assert (state.gpu_free_milli == before[0]).all() and (state.cpu_free == before[1]).all()
    assert not state.bindings
