"""kube-apiserver's RBAC authorizer decisions, ported as tables.

Source: kubernetes/kubernetes, plugin/pkg/auth/authorizer/rbac/rbac_test.go at commit
00bdb3fade2ef1ada898bd8fae2c6a1958da3a5d: TestAuthorizer (every case: roles, bindings,
requests that must pass and must fail) and TestRuleMatches (every rule and request).
"""

from __future__ import annotations

from typing import Any

import pytest
from fakeapi.rbac import Policy, Request, Rule, User, rule_allows


def _rule(verbs: str, groups: str, resources: str, urls: str) -> dict[str, Any]:
    # upstream's newRule: comma-separated fields, an empty string being one empty entry.
    return {
        "verbs": verbs.split(","),
        "apiGroups": groups.split(","),
        "resources": resources.split(","),
        "nonResourceURLs": urls.split(","),
    }


def _cluster_role(name: str, *rules: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": name},
        "rules": list(rules),
    }


def _subjects(specs: tuple[str, ...]) -> list[dict[str, str]]:
    return [dict(zip(("kind", "name"), spec.split(":", 1), strict=True)) for spec in specs]


def _role_binding(namespace: str, cluster_role: str, *subjects: str) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": f"{cluster_role}-binding", "namespace": namespace},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                    "name": cluster_role},
        "subjects": _subjects(subjects),
    }


def _cluster_binding(cluster_role: str, *subjects: str) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": f"{cluster_role}-binding"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                    "name": cluster_role},
        "subjects": _subjects(subjects),
    }


# upstream's defaultAttributes: user, groups (comma-separated), verb, resource, subresource,
# namespace, apiGroup.
Attrs = tuple[str, str, str, str, str, str, str]


def _resource(attrs: Attrs) -> tuple[User, Request]:
    user, groups, verb, resource, subresource, namespace, group = attrs
    return User(user, tuple(groups.split(","))), Request(
        verb, group, resource, subresource, namespace
    )


def _path(user: str, groups: tuple[str, ...], verb: str, path: str) -> tuple[User, Request]:
    return User(user, groups), Request(verb, resource_request=False, path=path)


ADMIN_EVERYWHERE_IN_NS1 = [
    _cluster_role("admin", _rule("*", "*", "*", "*")),
    _role_binding("ns1", "admin", "User:admin", "Group:admins"),
]
NON_RESOURCE = [
    _cluster_role("non-resource-url-getter", _rule("get", "", "", "/apis")),
    _cluster_role("non-resource-url", _rule("*", "", "", "/apis")),
    _cluster_role("non-resource-url-prefix", _rule("get", "", "", "/apis/*")),
    _cluster_binding("non-resource-url-getter", "User:foo", "Group:bar"),
    _cluster_binding("non-resource-url", "User:admin", "Group:admin"),
    _cluster_binding("non-resource-url-prefix", "User:prefixed", "Group:prefixed"),
]
PODS_ONLY = [
    _cluster_role("admin", _rule("*", "*", "pods", "*")),
    _role_binding("ns1", "admin", "User:admin", "Group:admins"),
]
POD_STATUS_ONLY = [
    _cluster_role("admin", _rule("*", "*", "pods/status", "*")),
    _role_binding("ns1", "admin", "User:admin", "Group:admins"),
]

AUTHORIZER_CASES: list[tuple[str, list[dict[str, Any]], tuple[User, Request], bool]] = [
    *[
        ("admin in ns1", ADMIN_EVERYWHERE_IN_NS1, _resource(a), True)
        for a in (
            ("admin", "", "get", "Pods", "", "ns1", ""),
            ("admin", "", "watch", "Pods", "", "ns1", ""),
            ("admin", "group1", "watch", "Foobar", "", "ns1", ""),
            ("joe", "admins", "watch", "Foobar", "", "ns1", ""),
            ("joe", "group1,admins", "watch", "Foobar", "", "ns1", ""),
        )
    ],
    *[
        ("admin in ns1", ADMIN_EVERYWHERE_IN_NS1, _resource(a), False)
        for a in (
            ("admin", "", "GET", "Pods", "", "ns2", ""),
            ("admin", "", "GET", "Nodes", "", "", ""),
            ("admin", "admins", "GET", "Pods", "", "ns2", ""),
            ("admin", "admins", "GET", "Nodes", "", "", ""),
        )
    ],
    *[
        ("non-resource urls", NON_RESOURCE, _path(*a), True)
        for a in (
            ("foo", (), "get", "/apis"),
            ("", ("bar",), "get", "/apis"),
            ("admin", (), "get", "/apis"),
            ("", ("admin",), "get", "/apis"),
            ("admin", (), "watch", "/apis"),
            ("", ("admin",), "watch", "/apis"),
            ("prefixed", (), "get", "/apis/v1"),
            ("", ("prefixed",), "get", "/apis/v1"),
            ("prefixed", (), "get", "/apis/v1/foobar"),
            ("", ("prefixed",), "get", "/apis/v1/foorbar"),
        )
    ],
    *[
        ("non-resource urls", NON_RESOURCE, _path(*a), False)
        for a in (
            ("foo", (), "watch", "/apis"),
            ("", ("bar",), "watch", "/apis"),
            ("foo", (), "get", "/api/v1"),
            ("", ("bar",), "get", "/api/v1"),
            ("admin", (), "get", "/api/v1"),
            ("", ("admin",), "get", "/api/v1"),
            ("prefixed", (), "get", "/api/v1"),
            ("", ("prefixed",), "get", "/api/v1"),
        )
    ],
    ("pods rule", PODS_ONLY, _resource(("admin", "", "get", "pods", "", "ns1", "")), True),
    ("pods rule", PODS_ONLY, _resource(("admin", "", "get", "pods", "status", "ns1", "")), False),
    (
        "pods/status rule",
        POD_STATUS_ONLY,
        _resource(("admin", "", "get", "pods", "status", "ns1", "")),
        True,
    ),
    ("pods/status rule", POD_STATUS_ONLY, _resource(("admin", "", "get", "pods", "", "ns1", "")),
     False),
]


@pytest.mark.parametrize(("case", "objects", "request_", "allowed"), AUTHORIZER_CASES)
def test_authorizer(
    case: str, objects: list[dict[str, Any]], request_: tuple[User, Request], allowed: bool
) -> None:
    user, attrs = request_
    assert Policy.from_objects(objects).allows(user, attrs) is allowed, (case, user, attrs)


def _r(verb: str, group: str, resource: str, subresource: str = "") -> Request:
    return Request(verb, group, resource, subresource)


def _url(verb: str, path: str) -> Request:
    return Request(verb, resource_request=False, path=path)


_GROUPS_RESOURCES = [(g, r) for g in ("group1", "group2") for r in ("resource1", "resource2")]

RULE_CASES: list[tuple[str, Rule, list[tuple[Request, bool]]]] = [
    (
        "star verb, exact match other",
        Rule(("*",), ("group1",), ("resource1",)),
        [
            (_r(v, g, r), g == "group1" and r == "resource1")
            for v in ("verb1", "verb2")
            for g, r in _GROUPS_RESOURCES
        ],
    ),
    (
        "star group, exact match other",
        Rule(("verb1",), ("*",), ("resource1",)),
        [
            (_r(v, g, r), v == "verb1" and r == "resource1")
            for v in ("verb1", "verb2")
            for g, r in _GROUPS_RESOURCES
        ],
    ),
    (
        "star resource, exact match other",
        Rule(("verb1",), ("group1",), ("*",)),
        [
            (_r(v, g, r), v == "verb1" and g == "group1")
            for v in ("verb1", "verb2")
            for g, r in _GROUPS_RESOURCES
        ],
    ),
    (
        "tuple expansion",
        Rule(("verb1", "verb2"), ("group1", "group2"), ("resource1", "resource2")),
        [(_r(v, g, r), True) for v in ("verb1", "verb2") for g, r in _GROUPS_RESOURCES],
    ),
    (
        "subresource expansion",
        Rule(("*",), ("*",), ("resource1/subresource1",)),
        [
            (_r(v, "group1", "resource1", "subresource1"), True)
            for v in ("verb1", "verb2")
        ]
        + [
            (_r(v, g, r, s), False)
            for v in ("verb1", "verb2")
            for g, r, s in (
                ("group2", "resource1", "subresource2"),
                ("group1", "resource2", "subresource1"),
                ("group2", "resource2", "subresource1"),
            )
        ],
    ),
    (
        "star nonresource, exact match other",
        Rule(("verb1",), non_resource_urls=("*",)),
        [
            (_url(v, p), v == "verb1")
            for v in ("verb1", "verb2")
            for p in ("/foo", "/foo/bar", "/foo/baz", "/foo/bar/one", "/foo/baz/one")
        ],
    ),
    (
        "star nonresource subpath",
        Rule(("verb1",), non_resource_urls=("/foo/*",)),
        [
            (_url("verb1", "/foo"), False),
            (_url("verb1", "/foo/bar"), True),
            (_url("verb1", "/foo/baz"), True),
            (_url("verb1", "/foo/bar/one"), True),
            (_url("verb1", "/foo/baz/one"), True),
            (_url("verb1", "/notfoo"), False),
            (_url("verb1", "/notfoo/bar"), False),
            (_url("verb1", "/notfoo/baz"), False),
            (_url("verb1", "/notfoo/bar/one"), False),
            (_url("verb1", "/notfoo/baz/one"), False),
        ],
    ),
    (
        "star verb, exact nonresource",
        Rule(("*",), non_resource_urls=("/foo", "/foo/bar/one")),
        [
            (_url(v, p), p in ("/foo", "/foo/bar/one"))
            for v in ("verb1", "verb2")
            for p in ("/foo", "/foo/bar", "/foo/baz", "/foo/bar/one", "/foo/baz/one")
        ],
    ),
]


@pytest.mark.parametrize(
    ("name", "rule", "request_", "expected"),
    [(name, rule, req, exp) for name, rule, table in RULE_CASES for req, exp in table],
)
def test_rule_matches(name: str, rule: Rule, request_: Request, expected: bool) -> None:
    assert rule_allows(request_, rule) is expected, (name, request_)
