"""The API calls each gpuplane component makes: the contract its RBAC in deploy/ grants.

One row per (component, apiGroup, resource, subresource, scope, resourceNames) with the verbs as
Kubernetes names them (get, list, watch, create, update, patch, delete). tests/deploy checks
that the Roles and ClusterRoles bound to each component's ServiceAccount grant exactly these
rows, no more and no less; the fake API server's RBAC mode refuses every other call with 403,
so a code path that makes a call missing here fails its test; tests/live/test_e2e_rbac.py runs
both components through every code path that calls the API and checks that they use every row
(a row no code uses is a grant too many). Add a row here (and the rule in
deploy/rbac-*.yaml) in the same change as the code that makes a new call.

Verbs follow the apiserver's mapping of HTTP methods: GET of one object is get, of a
collection list (watch with ?watch=true), POST create (also for the binding subresource),
PUT update, PATCH patch, DELETE delete.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Component(enum.StrEnum):
    SCHEDULER = "scheduler"
    NODE_AGENT = "node-agent"
    SNAPSHOT = "snapshot"


class Scope(enum.StrEnum):
    #: Any namespace (and cluster-scoped kinds): a ClusterRole bound by a ClusterRoleBinding.
    CLUSTER = "cluster"
    #: Only the component's own namespace (gpuplane-system): a Role bound by a RoleBinding.
    OWN_NAMESPACE = "own-namespace"


@dataclass(frozen=True)
class ApiCall:
    group: str  # "" is the core group
    resource: str
    subresource: str  # "" for the object itself
    verbs: frozenset[str]
    scope: Scope = Scope.CLUSTER
    #: The objects the calls are limited to; empty: any name. RBAC cannot limit create or
    #: list/watch by name, so those rows never carry names.
    names: tuple[str, ...] = ()

    @property
    def rbac_resource(self) -> str:
        """The resource as an RBAC rule names it: "pods" or "pods/binding"."""
        return f"{self.resource}/{self.subresource}" if self.subresource else self.resource


def _call(
    group: str,
    resource: str,
    verbs: str,
    *,
    scope: Scope = Scope.CLUSTER,
    names: tuple[str, ...] = (),
) -> ApiCall:
    base, _, sub = resource.partition("/")
    return ApiCall(group, base, sub, frozenset(verbs.split()), scope, names)


NAMESPACE = "gpuplane-system"
SCHEDULER_LEASE = "gpuplane-scheduler"
SERVICE_ACCOUNTS: dict[Component, str] = {
    Component.SCHEDULER: "gpuplane-scheduler",
    Component.NODE_AGENT: "gpuplane-node-agent",
    Component.SNAPSHOT: "gpuplane-snapshot",
}

PERMISSIONS: dict[Component, tuple[ApiCall, ...]] = {
    Component.SCHEDULER: (
        # live.reflector: the pod cache (pending pods of schedulerName gpuplane, and every bound
        # pod as used capacity, its gpuplane.io/devices annotation read back after a restart).
        # A reflector lists and watches; it never gets one object.
        _call("", "pods", "list watch"),
        # live.binding.bind_pod: POST of a Binding to pods/<name>/binding; its annotations (the
        # device choice, objects.assignment) land on the pod in the same write.
        _call("", "pods/binding", "create"),
        # the PodScheduled=False condition with kube-scheduler's wording on an unschedulable pod.
        _call("", "pods/status", "patch"),
        # FailedScheduling and Scheduled events (events.k8s.io/v1; each one created, no series).
        _call("events.k8s.io", "events", "create"),
        # live.reflector: the node cache (allocatable, GFD labels, taints).
        _call("", "nodes", "list watch"),
        # gangs: PodGroups of the scheduler-plugins coscheduling API and of Volcano (minMember).
        _call("scheduling.x-k8s.io", "podgroups", "list watch"),
        _call("scheduling.volcano.sh", "podgroups", "list watch"),
        # live.admission (the Kueue check gpuplane.io/placement, in the scheduler's process):
        # Workloads and AdmissionChecks watched; a check's state on a Workload and the
        # AdmissionCheck's Active condition written through their status subresources.
        _call("kueue.x-k8s.io", "workloads", "list watch"),
        _call("kueue.x-k8s.io", "workloads/status", "patch"),
        _call("kueue.x-k8s.io", "admissionchecks", "list watch"),
        _call("kueue.x-k8s.io", "admissionchecks/status", "patch"),
        # leader election: the first replica creates the Lease (create cannot be limited by
        # name); every replica reads it and the leader renews it, only this one Lease.
        _call("coordination.k8s.io", "leases", "create", scope=Scope.OWN_NAMESPACE),
        _call(
            "coordination.k8s.io",
            "leases",
            "get update",
            scope=Scope.OWN_NAMESPACE,
            names=(SCHEDULER_LEASE,),
        ),
    ),
    Component.NODE_AGENT: (
        # node.apiserver: the reflector on the pods of its own node (fieldSelector
        # spec.nodeName=<NODE_NAME>) for the scheduler's device choice; RBAC cannot limit a
        # watch to a field selector.
        _call("", "pods", "list watch"),
        # node: the agent marks the pod whose devices it allocated.
        _call("", "pods", "patch"),
        # node.apiserver: the GFD labels patched onto its own Node (NODE_NAME from the downward
        # API), kept there by a reflector on that one Node (fieldSelector metadata.name=NODE_NAME:
        # a list and a watch, which RBAC cannot limit to the name known only at run time).
        _call("", "nodes", "list watch patch"),
    ),
    # `gpuplane snapshot` and `place --kubeconfig` (deploy/rbac-snapshot.yaml, applied on its
    # own): one paged list of each kind of live.snapshot.collect.KINDS, nothing else; never a
    # Secret, a ConfigMap, a get, a watch or a write.
    Component.SNAPSHOT: (
        _call("", "nodes", "list"),
        _call("", "pods", "list"),
        _call("", "resourcequotas", "list"),
        _call("batch", "jobs", "list"),
        _call("scheduling.k8s.io", "priorityclasses", "list"),
        _call("kueue.x-k8s.io", "clusterqueues", "list"),
        _call("kueue.x-k8s.io", "localqueues", "list"),
        _call("kueue.x-k8s.io", "resourceflavors", "list"),
        _call("kueue.x-k8s.io", "workloadpriorityclasses", "list"),
        _call("kueue.x-k8s.io", "cohorts", "list"),
        _call("scheduling.volcano.sh", "queues", "list"),
        _call("scheduling.volcano.sh", "podgroups", "list"),
    ),
}


def permissions(component: Component) -> tuple[ApiCall, ...]:
    """The calls `component` makes."""
    return PERMISSIONS[component]
