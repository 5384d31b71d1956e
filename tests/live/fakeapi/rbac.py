"""RBAC authorization as kube-apiserver's RBAC authorizer decides it, for the fake's opt-in mode.

Rules match a request by verb, apiGroup, resource (the "pods/binding" form for a subresource,
"*/scale" for a subresource of any resource), resourceName and non-resource URL; "*" matches
any. A ClusterRoleBinding grants its ClusterRole everywhere; a RoleBinding grants its Role, or
a ClusterRole it refers to, only in the binding's namespace, never on cluster-scoped objects.
Subjects: User and Group by name, ServiceAccount as system:serviceaccount:<namespace>:<name>.
Only allow rules exist: no rule matching means denied.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

STAR = "*"


@dataclass(frozen=True)
class Rule:
    verbs: tuple[str, ...] = ()
    api_groups: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    resource_names: tuple[str, ...] = ()
    non_resource_urls: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, rule: Mapping[str, Any]) -> Rule:
        return cls(
            tuple(rule.get("verbs") or ()),
            tuple(rule.get("apiGroups") or ()),
            tuple(rule.get("resources") or ()),
            tuple(rule.get("resourceNames") or ()),
            tuple(rule.get("nonResourceURLs") or ()),
        )


@dataclass(frozen=True)
class Request:
    """What the authorizer sees of a request (kube's authorizer.Attributes)."""

    verb: str
    api_group: str = ""
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""
    resource_request: bool = True
    path: str = ""


@dataclass(frozen=True)
class User:
    name: str
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class Subject:
    kind: str  # User, Group or ServiceAccount
    name: str
    namespace: str = ""


@dataclass(frozen=True)
class Binding:
    role_kind: str  # Role or ClusterRole
    role_name: str
    subjects: tuple[Subject, ...]
    #: The RoleBinding's namespace; "" for a ClusterRoleBinding.
    namespace: str = ""


def verb_matches(rule: Rule, verb: str) -> bool:
    return any(v in (STAR, verb) for v in rule.verbs)


def api_group_matches(rule: Rule, group: str) -> bool:
    return any(g in (STAR, group) for g in rule.api_groups)


def resource_matches(rule: Rule, combined: str, subresource: str) -> bool:
    """`combined` is "pods" or "pods/binding"; "*/binding" in a rule matches any resource's."""
    for resource in rule.resources:
        if resource in (STAR, combined):
            return True
        if subresource and resource == f"*/{subresource}":
            return True
    return False


def resource_name_matches(rule: Rule, name: str) -> bool:
    return not rule.resource_names or name in rule.resource_names


def non_resource_url_matches(rule: Rule, path: str) -> bool:
    for url in rule.non_resource_urls:
        if url in (STAR, path):
            return True
        if url.endswith(STAR) and path.startswith(url[:-1]):
            return True
    return False


def rule_allows(request: Request, rule: Rule) -> bool:
    if not verb_matches(rule, request.verb):
        return False
    if not request.resource_request:
        return non_resource_url_matches(rule, request.path)
    combined = (
        f"{request.resource}/{request.subresource}" if request.subresource else request.resource
    )
    return (
        api_group_matches(rule, request.api_group)
        and resource_matches(rule, combined, request.subresource)
        and resource_name_matches(rule, request.name)
    )


def service_account_user(namespace: str, name: str) -> User:
    """The user a ServiceAccount's token authenticates as, with the groups the apiserver adds."""
    return User(
        f"system:serviceaccount:{namespace}:{name}",
        ("system:serviceaccounts", f"system:serviceaccounts:{namespace}", "system:authenticated"),
    )


def applies_to(user: User, subjects: Iterable[Subject], binding_namespace: str) -> bool:
    for subject in subjects:
        if subject.kind == "User" and subject.name == user.name:
            return True
        if subject.kind == "Group" and subject.name in user.groups:
            return True
        if subject.kind == "ServiceAccount":
            namespace = subject.namespace or binding_namespace
            if namespace and user.name == f"system:serviceaccount:{namespace}:{subject.name}":
                return True
    return False


@dataclass
class Policy:
    """Roles, ClusterRoles and their bindings: what the RBAC authorizer reads from the store."""

    roles: dict[tuple[str, str], tuple[Rule, ...]] = field(default_factory=dict)
    cluster_roles: dict[str, tuple[Rule, ...]] = field(default_factory=dict)
    bindings: list[Binding] = field(default_factory=list)

    @classmethod
    def from_objects(cls, objects: Iterable[Mapping[str, Any]]) -> Policy:
        """Read the rbac.authorization.k8s.io/v1 objects among `objects`; others are ignored."""
        policy = cls()
        for obj in objects:
            if obj.get("apiVersion") != "rbac.authorization.k8s.io/v1":
                continue
            meta = obj.get("metadata") or {}
            kind = obj.get("kind")
            if kind == "ClusterRole":
                policy.cluster_roles[meta["name"]] = _rules(obj)
            elif kind == "Role":
                policy.roles[(meta["namespace"], meta["name"])] = _rules(obj)
            elif kind in ("RoleBinding", "ClusterRoleBinding"):
                ref = obj["roleRef"]
                subjects = tuple(
                    Subject(s["kind"], s["name"], s.get("namespace", ""))
                    for s in obj.get("subjects") or ()
                )
                namespace = meta["namespace"] if kind == "RoleBinding" else ""
                policy.bindings.append(Binding(ref["kind"], ref["name"], subjects, namespace))
        return policy

    def rules_for(self, user: User, namespace: str) -> list[Rule]:
        """Every rule granted to `user` for a request in `namespace` ("" = cluster scope)."""
        rules: list[Rule] = []
        for binding in self.bindings:
            if binding.namespace and binding.namespace != namespace:
                continue
            if not applies_to(user, binding.subjects, binding.namespace):
                continue
            if binding.role_kind == "ClusterRole":
                rules.extend(self.cluster_roles.get(binding.role_name, ()))
            elif binding.namespace:
                rules.extend(self.roles.get((binding.namespace, binding.role_name), ()))
        return rules

    def allows(self, user: User, request: Request) -> bool:
        namespace = request.namespace if request.resource_request else ""
        return any(rule_allows(request, rule) for rule in self.rules_for(user, namespace))


def _rules(obj: Mapping[str, Any]) -> tuple[Rule, ...]:
    return tuple(Rule.from_dict(rule) for rule in obj.get("rules") or ())
