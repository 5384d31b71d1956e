"""The fake API server's object semantics over HTTP: versions, conflicts, subresources, schemas."""

from typing import Any

import httpx2
import pytest
from fakeapi import FakeApiServer
from live_helpers import PODS, create, names, node, pod

LEASES = "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases"


def test_resource_versions_come_from_one_counter_across_kinds(http: httpx2.Client) -> None:
    first = create(http, PODS, pod("a"))
    second = create(http, "/api/v1/nodes", node("n1"))
    third = create(
        http,
        "/api/v1/namespaces/default/configmaps",
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "v"}},
    )
    versions = [int(o["metadata"]["resourceVersion"]) for o in (first, second, third)]
    assert versions == [versions[0], versions[0] + 1, versions[0] + 2]
    listed = http.get(PODS).json()
    assert listed["kind"] == "PodList"
    assert listed["metadata"]["resourceVersion"] == third["metadata"]["resourceVersion"]
    assert first["metadata"]["uid"] and first["metadata"]["namespace"] == "default"
    assert first["status"]["phase"] == "Pending"


def test_create_of_an_existing_name_conflicts_and_generate_name_makes_a_fresh_one(
    http: httpx2.Client,
) -> None:
    create(http, PODS, pod("a"))
    again = http.post(PODS, json=pod("a"))
    assert again.status_code == 409 and again.json()["reason"] == "AlreadyExists"
    generated = pod("")
    generated["metadata"] = {"generateName": "worker-"}
    one, two = create(http, PODS, generated), create(http, PODS, generated)
    assert one["metadata"]["name"].startswith("worker-") and len(one["metadata"]["name"]) == 12
    assert one["metadata"]["name"] != two["metadata"]["name"]


def test_missing_objects_and_namespaces_are_404(http: httpx2.Client) -> None:
    assert http.get(f"{PODS}/nope").status_code == 404
    assert http.post("/api/v1/namespaces/ghost/pods", json=pod("a")).status_code == 404
    assert http.get("/apis/example.com/v1/widgets").status_code == 404


def test_update_with_a_stale_version_conflicts(http: httpx2.Client) -> None:
    created = create(http, PODS, pod("a"))
    fresh = dict(created, metadata={**created["metadata"], "labels": {"x": "1"}})
    updated = http.put(f"{PODS}/a", json=fresh)
    assert updated.status_code == 200, updated.text
    assert int(updated.json()["metadata"]["resourceVersion"]) > int(
        created["metadata"]["resourceVersion"]
    )
    stale = http.put(
        f"{PODS}/a", json=dict(created, metadata={**created["metadata"], "labels": {"x": "2"}})
    )
    assert stale.status_code == 409 and stale.json()["reason"] == "Conflict"
    assert http.get(f"{PODS}/a").json()["metadata"]["labels"] == {"x": "1"}


def test_binding_sets_the_node_once(http: httpx2.Client) -> None:
    created = create(http, PODS, pod("a"))
    binding = {
        "apiVersion": "v1",
        "kind": "Binding",
        "metadata": {
            "name": "a",
            "uid": created["metadata"]["uid"],
            "annotations": {"gpuplane.io/gpus": "0"},
        },
        "target": {"apiVersion": "v1", "kind": "Node", "name": "n1"},
    }
    reply = http.post(f"{PODS}/a/binding", json=binding)
    assert reply.status_code == 201 and reply.json()["status"] == "Success"
    bound = http.get(f"{PODS}/a").json()
    assert bound["spec"]["nodeName"] == "n1"
    assert bound["metadata"]["annotations"] == {"gpuplane.io/gpus": "0"}
    assert {"type": "PodScheduled", "status": "True"}.items() <= bound["status"]["conditions"][
        0
    ].items()
    twice = http.post(f"{PODS}/a/binding", json=dict(binding, target={"name": "n2"}))
    assert twice.status_code == 409 and 'already assigned to node "n1"' in twice.json()["message"]
    assert http.get(f"{PODS}/a").json()["spec"]["nodeName"] == "n1"


def test_binding_refuses_a_recreated_pod_a_missing_one_and_no_target(http: httpx2.Client) -> None:
    create(http, PODS, pod("a"))
    stale_uid = {
        "apiVersion": "v1",
        "kind": "Binding",
        "metadata": {"name": "a", "uid": "old"},
        "target": {"name": "n1"},
    }
    assert http.post(f"{PODS}/a/binding", json=stale_uid).status_code == 409
    missing = {
        "apiVersion": "v1",
        "kind": "Binding",
        "metadata": {"name": "b"},
        "target": {"name": "n1"},
    }
    assert http.post(f"{PODS}/b/binding", json=missing).status_code == 404
    no_target = {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "a"}, "target": {}}
    assert http.post(f"{PODS}/a/binding", json=no_target).status_code == 422


def test_node_name_changes_only_through_binding(http: httpx2.Client) -> None:
    created = create(http, PODS, pod("a"))
    created["spec"]["nodeName"] = "n1"
    assert http.put(f"{PODS}/a", json=created).status_code == 422
    patched = http.patch(
        f"{PODS}/a",
        json={"spec": {"nodeName": "n1"}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert patched.status_code == 422


def test_status_subresource_writes_only_status_and_main_writes_keep_it(http: httpx2.Client) -> None:
    created = create(http, PODS, pod("a"))
    created["status"] = {"phase": "Running"}
    created["metadata"]["labels"] = {"ignored": "yes"}
    reply = http.put(f"{PODS}/a/status", json=created)
    assert reply.status_code == 200, reply.text
    assert reply.json()["status"]["phase"] == "Running" and reply.json()["metadata"]["labels"] == {}
    main = http.patch(
        f"{PODS}/a",
        json={"status": {"phase": "Failed"}, "metadata": {"labels": {"k": "v"}}},
        headers={"Content-Type": "application/merge-patch+json"},
    ).json()
    assert main["status"]["phase"] == "Running" and main["metadata"]["labels"] == {"k": "v"}
    status_patch = http.patch(
        f"{PODS}/a/status",
        json={"status": {"phase": "Succeeded"}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert status_patch.json()["status"]["phase"] == "Succeeded"


def test_eviction_and_delete_remove_the_pod(http: httpx2.Client) -> None:
    create(http, PODS, pod("a"))
    create(http, PODS, pod("b"))
    eviction = {
        "apiVersion": "policy/v1",
        "kind": "Eviction",
        "metadata": {"name": "a", "namespace": "default"},
    }
    assert http.post(f"{PODS}/a/eviction", json=eviction).status_code == 201
    assert http.post(f"{PODS}/a/eviction", json=eviction).status_code == 404
    assert http.delete(f"{PODS}/b").status_code == 200
    assert http.delete(f"{PODS}/b").status_code == 404
    assert names(http.get(PODS)) == []


@pytest.mark.parametrize(
    ("path", "obj", "fragment"),
    [
        (PODS, {**pod("a"), "spec": {"containers": "busybox"}}, "spec.containers"),
        (
            PODS,
            {
                **pod("a"),
                "spec": {
                    "containers": [{"name": "c", "image": "x", "ports": [{"containerPort": "80"}]}]
                },
            },
            "containerPort",
        ),
        (PODS, {**pod("a"), "spec": {"containers": []}}, "spec.containers"),
        (PODS, {**pod("a"), "kind": "Node"}, "kind"),
        ("/api/v1/nodes", {**node("n"), "spec": {"unschedulable": "yes"}}, "unschedulable"),
        (
            LEASES,
            {
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": {"name": "l"},
                "spec": {"leaseDurationSeconds": "15"},
            },
            "leaseDurationSeconds",
        ),
    ],
)
def test_objects_that_break_the_openapi_schema_are_422(
    http: httpx2.Client, path: str, obj: dict[str, Any], fragment: str
) -> None:
    reply = http.post(path, json=obj)
    assert reply.status_code == 422, reply.text
    assert reply.json()["reason"] == "Invalid" and fragment in reply.json()["message"]


def test_an_update_that_breaks_the_schema_is_422_and_changes_nothing(http: httpx2.Client) -> None:
    created = create(http, PODS, pod("a"))
    reply = http.patch(
        f"{PODS}/a",
        json={"metadata": {"labels": {"k": 5}}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert reply.status_code == 422
    assert (
        http.get(f"{PODS}/a").json()["metadata"]["resourceVersion"]
        == created["metadata"]["resourceVersion"]
    )


def test_leases_and_events_are_served(http: httpx2.Client) -> None:
    lease = {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": "gpuplane"},
        "spec": {"holderIdentity": "a", "leaseDurationSeconds": 15},
    }
    created = create(http, LEASES, lease)
    created["spec"]["holderIdentity"] = "b"
    assert http.put(f"{LEASES}/gpuplane", json=created).json()["spec"]["holderIdentity"] == "b"
    assert (
        http.put(f"{LEASES}/gpuplane", json=created).status_code == 409
    )  # a second replica lost the race
    event = {
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": {"generateName": "a."},
        "eventTime": "2026-01-01T00:00:00.000000Z",
        "reason": "Scheduled",
        "action": "Binding",
        "reportingController": "gpuplane",
        "reportingInstance": "gpuplane-0",
        "regarding": {"kind": "Pod", "namespace": "default", "name": "a"},
        "type": "Normal",
    }
    create(http, "/apis/events.k8s.io/v1/namespaces/default/events", event)
    core_event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "a.1"},
        "involvedObject": {"kind": "Pod", "name": "a"},
        "reason": "FailedScheduling",
    }
    create(http, "/api/v1/namespaces/default/events", core_event)


def test_crds_are_served_by_group_version_plural_with_their_schema(
    fake: FakeApiServer, http: httpx2.Client
) -> None:
    schema = {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {"minMember": {"type": "integer", "minimum": 0}},
            }
        },
    }
    fake.register_crd(
        "scheduling.x-k8s.io",
        "v1alpha1",
        "podgroups",
        "PodGroup",
        schema=schema,
        status_subresource=True,
    )
    fake.register_crd(
        "kueue.x-k8s.io", "v1beta1", "clusterqueues", "ClusterQueue", namespaced=False
    )
    groups = "/apis/scheduling.x-k8s.io/v1alpha1/namespaces/default/podgroups"
    group = {
        "apiVersion": "scheduling.x-k8s.io/v1alpha1",
        "kind": "PodGroup",
        "metadata": {"name": "g"},
        "spec": {"minMember": 4},
    }
    assert create(http, groups, group)["spec"]["minMember"] == 4
    bad = http.post(
        groups, json={**group, "metadata": {"name": "h"}, "spec": {"minMember": "four"}}
    )
    assert bad.status_code == 422 and "minMember" in bad.json()["message"]
    queue = {
        "apiVersion": "kueue.x-k8s.io/v1beta1",
        "kind": "ClusterQueue",
        "metadata": {"name": "q"},
        "spec": {"anything": ["goes"]},
    }
    create(http, "/apis/kueue.x-k8s.io/v1beta1/clusterqueues", queue)
    assert names(http.get("/apis/kueue.x-k8s.io/v1beta1/clusterqueues")) == ["q"]
    assert set(fake.objects("podgroups", "scheduling.x-k8s.io", "v1alpha1")) == {("default", "g")}


def test_namespaces_scope_objects_and_deletes_may_carry_options(http: httpx2.Client) -> None:
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}}
    create(http, "/api/v1/namespaces", namespace)
    assert http.get("/api/v1/namespaces/team-a").json()["metadata"]["name"] == "team-a"
    create(http, "/api/v1/namespaces/team-a/pods", pod("a"))
    create(http, PODS, pod("a"))  # the same name in another namespace is another object
    assert names(http.get("/api/v1/namespaces/team-a/pods")) == ["a"]
    everywhere = http.get("/api/v1/pods").json()["items"]
    assert sorted(p["metadata"]["namespace"] for p in everywhere) == ["default", "team-a"]
    options = {"apiVersion": "v1", "kind": "DeleteOptions", "gracePeriodSeconds": 0}
    deleted = http.request("DELETE", "/api/v1/namespaces/team-a/pods/a", json=options)
    assert deleted.status_code == 200
    assert names(http.get(PODS)) == ["a"]  # the connection is still in step after a body
