"""Which rules apply to a user in a namespace, and which subjects a binding applies to.

Source: kubernetes/kubernetes, pkg/registry/rbac/validation/rule_test.go at commit
00bdb3fade2ef1ada898bd8fae2c6a1958da3a5d: TestDefaultRuleResolver (every case) and
TestAppliesTo (every case).
"""

from __future__ import annotations

from typing import Any

import pytest
from fakeapi.rbac import Policy, Rule, Subject, User, applies_to

READ_PODS = {"verbs": ["GET", "WATCH"], "apiGroups": ["v1"], "resources": ["pods"]}
READ_SERVICES = {"verbs": ["GET", "WATCH"], "apiGroups": ["v1"], "resources": ["services"]}
WRITE_NODES = {"verbs": ["PUT", "CREATE", "UPDATE"], "apiGroups": ["v1"], "resources": ["nodes"]}
ADMIN = {"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}
RBAC = "rbac.authorization.k8s.io/v1"

OBJECTS: list[dict[str, Any]] = [
    {
        "apiVersion": RBAC,
        "kind": "Role",
        "metadata": {"namespace": "namespace1", "name": "readthings"},
        "rules": [READ_PODS, READ_SERVICES],
    },
    {"apiVersion": RBAC, "kind": "ClusterRole", "metadata": {"name": "cluster-admin"},
     "rules": [ADMIN]},
    {"apiVersion": RBAC, "kind": "ClusterRole", "metadata": {"name": "write-nodes"},
     "rules": [WRITE_NODES]},
    {
        "apiVersion": RBAC,
        "kind": "RoleBinding",
        "metadata": {"namespace": "namespace1", "name": "b"},
        "subjects": [{"kind": "User", "name": "foobar"}, {"kind": "Group", "name": "group1"}],
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                    "name": "readthings"},
    },
    {
        "apiVersion": RBAC,
        "kind": "ClusterRoleBinding",
        "metadata": {"name": "c"},
        "subjects": [{"kind": "User", "name": "admin"}, {"kind": "Group", "name": "admin"}],
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                    "name": "cluster-admin"},
    },
]


@pytest.mark.parametrize(
    ("user", "namespace", "expected"),
    [
        (User("foobar"), "namespace1", [READ_PODS, READ_SERVICES]),
        (User("foobar"), "namespace2", []),
        # Without a namespace only cluster rules apply.
        (User("foobar", ("admin",)), "", [ADMIN]),
        (User(""), "", []),
    ],
)
def test_default_rule_resolver(
    user: User, namespace: str, expected: list[dict[str, Any]]
) -> None:
    rules = Policy.from_objects(OBJECTS).rules_for(user, namespace)
    assert sorted(rules, key=repr) == sorted((Rule.from_dict(r) for r in expected), key=repr)


AUTHENTICATED, UNAUTHENTICATED = "system:authenticated", "system:unauthenticated"

APPLIES_TO = [
    ("single subject that matches username", [Subject("User", "foobar")], User("foobar"), "",
     True),
    (
        "multiple subjects, one that matches username",
        [Subject("User", "barfoo"), Subject("User", "foobar")],
        User("foobar"),
        "",
        True,
    ),
    (
        "multiple subjects, none that match username",
        [Subject("User", "barfoo"), Subject("User", "foobar")],
        User("zimzam"),
        "",
        False,
    ),
    (
        "multiple subjects, one that match group",
        [Subject("User", "barfoo"), Subject("Group", "foobar")],
        User("zimzam", ("foobar",)),
        "",
        True,
    ),
    (
        "multiple subjects, one that match group, should ignore namespace",
        [Subject("User", "barfoo"), Subject("Group", "foobar")],
        User("zimzam", ("foobar",)),
        "namespace1",
        True,
    ),
    (
        "multiple subjects with a service account that matches",
        [
            Subject("User", "barfoo"),
            Subject("Group", "foobar"),
            Subject("ServiceAccount", "default", "kube-system"),
        ],
        User("system:serviceaccount:kube-system:default"),
        "default",
        True,
    ),
    ("* user subject name doesn't match all users", [Subject("User", "*")], User("foobar"),
     "default", False),
    (
        "binding to all authenticated and unauthenticated subjects matches authenticated user",
        [Subject("Group", AUTHENTICATED), Subject("Group", UNAUTHENTICATED)],
        User("foobar", (AUTHENTICATED,)),
        "default",
        True,
    ),
    (
        "binding to all authenticated and unauthenticated subjects matches anonymous user",
        [Subject("Group", AUTHENTICATED), Subject("Group", UNAUTHENTICATED)],
        User("system:anonymous", (UNAUTHENTICATED,)),
        "default",
        True,
    ),
]


@pytest.mark.parametrize(("case", "subjects", "user", "namespace", "expected"), APPLIES_TO)
def test_applies_to(
    case: str, subjects: list[Subject], user: User, namespace: str, expected: bool
) -> None:
    assert applies_to(user, subjects, namespace) is expected, case
