"""The RBAC in deploy/ grants each service account exactly gpuplane.live.permissions: every
call the code makes, and nothing more."""

from __future__ import annotations

import pytest
from fakeapi.rbac import Policy, Request, service_account_user

from deploy_helpers import every_manifest
from gpuplane.live.permissions import (
    NAMESPACE,
    PERMISSIONS,
    SCHEDULER_LEASE,
    SERVICE_ACCOUNTS,
    Component,
    Scope,
)

# (scope, apiGroup, resource as RBAC names it, verb, resourceName or "")
Grant = tuple[Scope, str, str, str, str]
OBJECTS = every_manifest()
POLICY = Policy.from_objects(OBJECTS)


def _table(component: Component) -> set[Grant]:
    return {
        (call.scope, call.group, call.rbac_resource, verb, name)
        for call in PERMISSIONS[component]
        for verb in call.verbs
        for name in call.names or ("",)
    }


def _granted(component: Component) -> set[Grant]:
    """What the bindings of the component's ServiceAccount grant, rule by rule, expanded."""
    user = service_account_user(NAMESPACE, SERVICE_ACCOUNTS[component])
    grants: set[Grant] = set()
    for scope, namespace in ((Scope.CLUSTER, ""), (Scope.OWN_NAMESPACE, NAMESPACE)):
        cluster_rules = set(POLICY.rules_for(user, ""))
        rules = POLICY.rules_for(user, namespace)
        for rule in rules:
            if scope is Scope.OWN_NAMESPACE and rule in cluster_rules:
                continue  # granted everywhere, counted once as cluster scope
            assert not rule.non_resource_urls, rule
            grants |= {
                (scope, group, resource, verb, name)
                for group in rule.api_groups
                for resource in rule.resources
                for verb in rule.verbs
                for name in rule.resource_names or ("",)
            }
    return grants


@pytest.mark.parametrize("component", list(Component))
def test_rbac_grants_exactly_the_permissions_table(component: Component) -> None:
    granted, needed = _granted(component), _table(component)
    assert not needed - granted, f"calls the code makes that RBAC refuses: {needed - granted}"
    assert not granted - needed, f"granted but never used: {granted - needed}"
    assert all("*" not in grant for grant in granted), "wildcards grant more than the table"


def _allowed(component: Component, request: Request) -> bool:
    user = service_account_user(NAMESPACE, SERVICE_ACCOUNTS[component])
    return POLICY.allows(user, request)


SCHEDULER, AGENT, SNAPSHOT = Component.SCHEDULER, Component.NODE_AGENT, Component.SNAPSHOT


@pytest.mark.parametrize(
    ("component", "request_", "allowed"),
    [
        (SCHEDULER, Request("create", "", "pods", "binding", "team-a", "p"), True),
        (SCHEDULER, Request("watch", "", "pods", "", ""), True),
        (SCHEDULER, Request("patch", "", "pods", "status", "team-a", "p"), True),
        (SCHEDULER, Request("update", "", "pods", "status", "team-a", "p"), False),
        (SCHEDULER, Request("delete", "", "pods", "", "team-a", "p"), False),
        (SCHEDULER, Request("create", "", "pods", "eviction", "team-a", "p"), False),
        (SCHEDULER, Request("patch", "", "nodes", "", "", "n1"), False),
        (SCHEDULER, Request("get", "", "secrets", "", "team-a", "s"), False),
        (SCHEDULER, Request("list", "", "configmaps", "", ""), False),
        (SCHEDULER, Request("create", "", "events", "", "team-a"), False),  # core events
        (SCHEDULER, Request("create", "events.k8s.io", "events", "", "team-a"), True),
        (SCHEDULER, Request("list", "scheduling.volcano.sh", "podgroups", "", ""), True),
        (SCHEDULER, Request("update", "scheduling.x-k8s.io", "podgroups", "", "a", "g"), False),
        # The Lease: only the one, only in gpuplane-system.
        (SCHEDULER, Request("create", "coordination.k8s.io", "leases", "", NAMESPACE), True),
        (SCHEDULER, Request("get", "coordination.k8s.io", "leases", "", NAMESPACE,
                            SCHEDULER_LEASE), True),
        (SCHEDULER, Request("update", "coordination.k8s.io", "leases", "", NAMESPACE,
                            SCHEDULER_LEASE), True),
        (SCHEDULER, Request("update", "coordination.k8s.io", "leases", "", NAMESPACE,
                            "other"), False),
        (SCHEDULER, Request("update", "coordination.k8s.io", "leases", "", "kube-system",
                            SCHEDULER_LEASE), False),
        (SCHEDULER, Request("delete", "coordination.k8s.io", "leases", "", NAMESPACE,
                            SCHEDULER_LEASE), False),
        (SCHEDULER, Request("list", "coordination.k8s.io", "leases", "", NAMESPACE), False),
        (AGENT, Request("watch", "", "pods", "", ""), True),
        (AGENT, Request("patch", "", "pods", "", "team-a", "p"), True),
        (AGENT, Request("patch", "", "nodes", "", "", "gpu-node-1"), True),
        (AGENT, Request("create", "", "pods", "binding", "team-a", "p"), False),
        (AGENT, Request("patch", "", "nodes", "status", "", "gpu-node-1"), False),
        # Its own Node through a reflector (fieldSelector metadata.name): a list and a watch.
        (AGENT, Request("watch", "", "nodes", "", ""), True),
        (AGENT, Request("get", "", "nodes", "", "", "gpu-node-1"), False),
        (AGENT, Request("get", "", "pods", "", "team-a", "p"), False),
        (AGENT, Request("update", "", "nodes", "", "", "gpu-node-1"), False),
        (AGENT, Request("create", "coordination.k8s.io", "leases", "", NAMESPACE), False),
        # The snapshot lists; it never reads a Secret or a ConfigMap, gets, watches or writes.
        (SNAPSHOT, Request("list", "", "pods", "", ""), True),
        (SNAPSHOT, Request("list", "kueue.x-k8s.io", "clusterqueues", "", ""), True),
        (SNAPSHOT, Request("list", "batch", "jobs", "", "team-a"), True),
        (SNAPSHOT, Request("list", "", "secrets", "", ""), False),
        (SNAPSHOT, Request("get", "", "secrets", "", "team-a", "s"), False),
        (SNAPSHOT, Request("list", "", "configmaps", "", ""), False),
        (SNAPSHOT, Request("watch", "", "pods", "", ""), False),
        (SNAPSHOT, Request("get", "", "nodes", "", "", "n1"), False),
        (SNAPSHOT, Request("patch", "", "nodes", "", "", "n1"), False),
        (SNAPSHOT, Request("list", "kueue.x-k8s.io", "workloads", "", ""), False),
        (SNAPSHOT, Request("create", "", "pods", "binding", "team-a", "p"), False),
    ],
)
def test_rbac_decisions_for_calls_and_near_misses(
    component: Component, request_: Request, allowed: bool
) -> None:
    assert _allowed(component, request_) is allowed


@pytest.mark.parametrize("component", list(Component))
def test_rows_limited_to_names_have_only_verbs_rbac_can_limit(component: Component) -> None:
    # RBAC cannot limit create, list, watch or deletecollection to names: a row saying so
    # would be granted by a rule that refuses the call.
    for call in PERMISSIONS[component]:
        if call.names:
            assert not call.verbs & {"create", "list", "watch", "deletecollection"}, call
