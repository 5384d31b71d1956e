"""The fake API server's audit log, and its opt-in RBAC with deploy/'s Roles and bindings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from fakeapi import AuditEvent, FakeApiServer, Policy
from lightkube.resources.core_v1 import Pod
from live_helpers import PODS, create, node, pod, run

from deploy_helpers import every_manifest
from gpuplane.live.binding import bind_pod
from gpuplane.live.kube import ApiStatusError, Kube, load_config
from gpuplane.live.permissions import NAMESPACE, PERMISSIONS, SERVICE_ACCOUNTS, ApiCall, Component

SCHEDULER_USER = "system:serviceaccount:gpuplane-system:gpuplane-scheduler"
AGENT_USER = "system:serviceaccount:gpuplane-system:gpuplane-node-agent"
LEASES = "/apis/coordination.k8s.io/v1/namespaces/{}/leases"


def _lease(name: str) -> dict[str, object]:
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": name},
        "spec": {"holderIdentity": "a", "leaseDurationSeconds": 15},
    }


def _binding(name: str, target: str) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Binding",
        "metadata": {"name": name},
        "target": {"apiVersion": "v1", "kind": "Node", "name": target},
    }


MERGE = {"Content-Type": "application/merge-patch+json"}


def test_audit_records_every_request_with_its_kubernetes_verb(
    fake: FakeApiServer, http: httpx2.Client
) -> None:
    http.headers["User-Agent"] = "gpuplane-scheduler/0.1.0"
    create(http, "/api/v1/nodes", node("n1"))
    create(http, PODS, pod("p"))
    assert http.get("/api/v1/pods").status_code == 200
    assert http.get(f"{PODS}/p").status_code == 200
    annotate = {"metadata": {"annotations": {"gpuplane.io/devices": "x"}}}
    assert http.patch(f"{PODS}/p", json=annotate, headers=MERGE).status_code == 200
    assert http.post(f"{PODS}/p/binding", json=_binding("p", "n1")).status_code == 201
    assert http.get(f"{PODS}/gone").status_code == 404
    with http.stream("GET", PODS, params={"watch": "true"}) as reply:
        assert reply.status_code == 200
    http.headers["User-Agent"] = "gpuplane-node-agent/0.1.0"
    assert http.delete(f"{PODS}/p").status_code == 200
    seen = [
        (e.method, e.verb, e.api_group, e.resource, e.subresource, e.namespace, e.name, e.code)
        for e in fake.audit
    ]
    assert seen == [
        ("POST", "create", "", "nodes", "", "", "", 201),
        ("POST", "create", "", "pods", "", "default", "", 201),
        ("GET", "list", "", "pods", "", "", "", 200),
        ("GET", "get", "", "pods", "", "default", "p", 200),
        ("PATCH", "patch", "", "pods", "", "default", "p", 200),
        ("POST", "create", "", "pods", "binding", "default", "p", 201),
        ("GET", "get", "", "pods", "", "default", "gone", 404),
        ("GET", "watch", "", "pods", "", "default", "", 200),
        ("DELETE", "delete", "", "pods", "", "default", "p", 200),
    ]
    agents = [e.user_agent for e in fake.audit]
    assert agents == ["gpuplane-scheduler/0.1.0"] * 8 + ["gpuplane-node-agent/0.1.0"]
    assert {e.user for e in fake.audit} == {""}, "without RBAC nobody is authenticated"


@pytest.fixture
def secured() -> Iterator[FakeApiServer]:
    with FakeApiServer(seed=3, rbac=Policy.from_objects(every_manifest())) as server:
        yield server
    assert server.errors == []


def _client(server: FakeApiServer, token: str | None) -> httpx2.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx2.Client(base_url=server.url, timeout=5.0, headers=headers)


@pytest.fixture
def admin(secured: FakeApiServer) -> Iterator[httpx2.Client]:
    with _client(secured, secured.ADMIN_TOKEN) as client:
        namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}
        create(client, "/api/v1/namespaces", namespace)
        create(client, "/api/v1/nodes", node("n1"))
        create(client, PODS, pod("p"))
        yield client


def _token(server: FakeApiServer, component: Component) -> str:
    return server.service_account_token(NAMESPACE, SERVICE_ACCOUNTS[component])


def _forbidden(reply: httpx2.Response, message: str) -> None:
    assert reply.status_code == 403, reply.text
    body = reply.json()
    assert (body["kind"], body["status"], body["reason"], body["code"]) == (
        "Status",
        "Failure",
        "Forbidden",
        403,
    )
    assert body["message"] == message


def test_without_a_known_token_nothing_is_served(
    secured: FakeApiServer, admin: httpx2.Client
) -> None:
    for token in (None, "made-up"):
        with _client(secured, token) as client:
            reply = client.get(PODS)
        assert reply.status_code == 401 and reply.json()["reason"] == "Unauthorized"
    assert [e.code for e in secured.audit[-2:]] == [401, 401]


def test_the_scheduler_binds_but_may_not_delete_and_holds_only_its_lease(
    secured: FakeApiServer, admin: httpx2.Client
) -> None:
    with _client(secured, _token(secured, Component.SCHEDULER)) as scheduler:
        assert scheduler.get("/api/v1/pods").status_code == 200
        assert scheduler.post(f"{PODS}/p/binding", json=_binding("p", "n1")).status_code == 201
        _forbidden(
            scheduler.delete(f"{PODS}/p"),
            f'pods "p" is forbidden: User "{SCHEDULER_USER}" cannot delete resource "pods" in '
            'API group "" in the namespace "default"',
        )
        own = LEASES.format(NAMESPACE)
        assert scheduler.post(own, json=_lease("gpuplane-scheduler")).status_code == 201
        assert scheduler.get(f"{own}/gpuplane-scheduler").status_code == 200
        _forbidden(
            scheduler.get(f"{LEASES.format('default')}/gpuplane-scheduler"),
            f'leases.coordination.k8s.io "gpuplane-scheduler" is forbidden: User '
            f'"{SCHEDULER_USER}" cannot get resource "leases" in API group '
            '"coordination.k8s.io" in the namespace "default"',
        )
    assert secured.audit[-1].user == SCHEDULER_USER


def test_the_node_agent_may_not_bind_nor_get_a_node(
    secured: FakeApiServer, admin: httpx2.Client
) -> None:
    with _client(secured, _token(secured, Component.NODE_AGENT)) as agent:
        _forbidden(
            agent.post(f"{PODS}/p/binding", json=_binding("p", "n1")),
            f'pods "p" is forbidden: User "{AGENT_USER}" cannot create resource "pods/binding" '
            'in API group "" in the namespace "default"',
        )
        # It reads its Node through a watch (a list, then watch), never by get.
        _forbidden(
            agent.get("/api/v1/nodes/n1"),
            f'nodes "n1" is forbidden: User "{AGENT_USER}" cannot get resource "nodes" in API '
            'group "" at the cluster scope',
        )
        labels = {"metadata": {"labels": {"nvidia.com/gpu.present": "true"}}}
        assert agent.patch("/api/v1/nodes/n1", json=labels, headers=MERGE).status_code == 200
    assert admin.get(f"{PODS}/p").json()["spec"].get("nodeName") is None


def _url(call: ApiCall, verb: str) -> str:
    prefix = f"/apis/{call.group}/v1" if call.group else "/api/v1"
    if call.resource != "nodes":
        prefix += f"/namespaces/{NAMESPACE if call.names or call.scope != 'cluster' else 'team-a'}"
    url = f"{prefix}/{call.resource}"
    if verb not in ("list", "watch", "create") or call.subresource:
        url += f"/{call.names[0] if call.names else 'x'}"
    return f"{url}/{call.subresource}" if call.subresource else url


_METHODS = {"get": "GET", "list": "GET", "watch": "GET", "create": "POST", "update": "PUT",
            "patch": "PATCH", "delete": "DELETE"}


@pytest.mark.parametrize("component", list(Component))
def test_every_call_of_the_permissions_table_gets_past_rbac(
    secured: FakeApiServer, admin: httpx2.Client, component: Component
) -> None:
    """Served or refused for what it is (404, 422), never 403: the deployed RBAC allows it."""
    with _client(secured, _token(secured, component)) as client:
        for call in PERMISSIONS[component]:
            for verb in sorted(call.verbs):
                params = {"watch": "true", "timeoutSeconds": "1"} if verb == "watch" else {}
                with client.stream(
                    _METHODS[verb], _url(call, verb), params=params, json={}, headers=MERGE
                ) as reply:
                    assert reply.status_code not in (401, 403), (call, verb)
                event: AuditEvent = secured.audit[-1]
                assert (event.verb, event.api_group, event.resource, event.subresource) == (
                    verb,
                    call.group,
                    call.resource,
                    call.subresource,
                ), call


def test_the_real_client_authenticates_with_a_service_account_kubeconfig(
    secured: FakeApiServer, admin: httpx2.Client, tmp_path: Path
) -> None:
    token = _token(secured, Component.NODE_AGENT)
    kube = Kube.connect(load_config(secured.write_kubeconfig(tmp_path / "config", token=token)))

    async def scenario() -> tuple[list[str], int]:
        try:
            pods = [p async for p in kube.typed.list(Pod, namespace="default")]
            try:
                await bind_pod(kube.http, "default", "p", "n1")
            except ApiStatusError as err:
                return [str(p.metadata.name) for p in pods if p.metadata], err.code
            return [], 0
        finally:
            await kube.aclose()

    assert run(scenario()) == (["p"], 403)
    assert {e.user for e in secured.audit[-2:]} == {AGENT_USER}
