"""kube-scheduler behaviours pinned with real plugins: PreFilter wording, exact memory fit,
native resources (ephemeral-storage, hugepages, kubernetes.io/) and the default profile's
scores. The upstream tables themselves are in tests/conformance/."""

from __future__ import annotations

from typing import Any

from gpuplane.cluster import ClusterState
from gpuplane.objects import read_api_objects
from gpuplane.placement import Placement, Scheduler, Unschedulable


def node(name: str, alloc: dict[str, str], **meta: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": meta.get("labels", {})},
        "spec": {"taints": meta.get("taints", [])},
        "status": {"allocatable": alloc},
    }


def pod(requests: dict[str, str], **spec: Any) -> dict[str, Any]:
    container = {"name": "c", "image": "x", "resources": {"requests": requests}}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {"containers": [container], **spec},
    }


def decide(nodes: list[dict[str, Any]], p: dict[str, Any], profile: str = "least-allocated"):
    read = read_api_objects([*nodes, p])
    state = ClusterState(read.nodes)
    return state, Scheduler(state, profile).place(read.pods[0])


def names_in(*names: str) -> dict[str, Any]:
    terms = [
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [n]}]} for n in names
    ]
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": terms}}}


def test_prefilter_narrowing_counts_the_other_nodes_under_its_own_reason():
    nodes = [node(n, {"cpu": "0"}) for n in ("a", "b", "c")]
    _, decision = decide(nodes, pod({"cpu": "1"}, affinity=names_in("a")))
    assert isinstance(decision, Unschedulable)
    assert decision.message == (
        "0/3 nodes are available: 1 Insufficient cpu, "
        "2 node(s) didn't satisfy plugin(s) [NodeAffinity]."
    )


def test_prefilter_rejection_is_the_whole_message():
    field = {"key": "metadata.name", "operator": "In"}
    terms = [{"matchFields": [{**field, "values": ["a"]}, {**field, "values": ["b"]}]}]
    affinity = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": terms}}}
    _, decision = decide([node("a", {}), node("b", {})], pod({}, affinity=affinity))
    assert isinstance(decision, Unschedulable)
    assert decision.message == "0/2 nodes are available: pod affinity terms conflict."
    assert decision.reasons == {"pod affinity terms conflict": 2}


def test_a_pod_asking_exactly_the_allocatable_memory_fits_in_ki_and_bytes():
    # 65843012Ki is not a whole number of MiB: rounding each side to MiB on its own refused it.
    for asked in ("65843012Ki", str(65843012 * 1024)):
        state, decision = decide([node("n", {"memory": "65843012Ki"})], pod({"memory": asked}))
        assert isinstance(decision, Placement), decision
        assert state.mem_free_bytes[0] == 0 and state.mem_free[0] == 0
        # One byte more does not fit: nothing over-commits.
        more = str(65843012 * 1024 + 1)
        _, again = decide([node("n", {"memory": "65843012Ki"})], pod({"memory": more}))
        assert isinstance(again, Unschedulable) and again.reasons == {"Insufficient memory": 1}


def test_memory_release_restores_the_exact_bytes():
    read = read_api_objects([node("n", {"memory": "1000001"}), pod({"memory": "999999"})])
    state = ClusterState(read.nodes)
    sched = Scheduler(state)
    placed = sched.place(read.pods[0])
    assert isinstance(placed, Placement) and state.mem_free_bytes[0] == 2
    sched.unbind(placed)
    assert state.mem_free_bytes[0] == 1000001 and state.mem_free[0] == 0


def test_native_resources_are_checked_and_taken():
    alloc = {"ephemeral-storage": "10Gi", "hugepages-2Mi": "4Mi", "kubernetes.io/x": "1"}
    asked = {"ephemeral-storage": "10Gi", "hugepages-2Mi": "4Mi", "kubernetes.io/x": "1"}
    state, decision = decide([node("n", alloc)], pod(asked))
    assert isinstance(decision, Placement)
    _, second = decide([node("n", {**alloc, "ephemeral-storage": "1Gi"})], pod(asked))
    assert isinstance(second, Unschedulable)
    assert second.reasons == {"Insufficient ephemeral-storage": 1}
    read = read_api_objects([node("n", alloc), pod(asked)])
    state = ClusterState(read.nodes)
    sched = Scheduler(state)
    assert isinstance(sched.place(read.pods[0]), Placement)
    again = sched.schedule(read.pods[0])
    assert isinstance(again, Unschedulable)
    assert set(again.reasons) == {f"Insufficient {name}" for name in asked}


def test_ephemeral_storage_is_unchecked_on_nodes_that_do_not_report_it():
    # Cluster specs describe no disks; a kubelet always reports ephemeral-storage.
    _, decision = decide([node("n", {"cpu": "1"})], pod({"ephemeral-storage": "1Gi"}))
    assert isinstance(decision, Placement) and decision.extended == {}


def test_hugepages_a_node_does_not_offer_do_not_fit():
    _, decision = decide([node("n", {"cpu": "1"})], pod({"hugepages-1Gi": "1Gi"}))
    assert isinstance(decision, Unschedulable)
    assert decision.reasons == {"Insufficient hugepages-1Gi": 1}


def test_default_profile_prefers_tolerated_and_preferred_nodes():
    # Equal nodes but for a PreferNoSchedule taint and a label the pod prefers.
    prefer = [{"key": "spot", "value": "yes", "effect": "PreferNoSchedule"}]
    nodes = [
        node("tainted", {"cpu": "8", "memory": "8Gi"}, taints=prefer),
        node("plain", {"cpu": "8", "memory": "8Gi"}),
        node("preferred", {"cpu": "8", "memory": "8Gi"}, labels={"disk": "ssd"}),
    ]
    preference = {"weight": 10, "preference": {"matchExpressions": [
        {"key": "disk", "operator": "In", "values": ["ssd"]}]}}
    affinity = {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [preference]}}
    for profile in ("least-allocated", "most-allocated"):
        _, decision = decide(nodes, pod({"cpu": "1"}, affinity=affinity), profile)
        assert isinstance(decision, Placement) and decision.node == "preferred"
        _, decision = decide(nodes[:2], pod({"cpu": "1"}), profile)
        assert isinstance(decision, Placement) and decision.node == "plain"
