"""RBAC's resource matching ("pods/binding", "*/scale"), ported as a table.

Source: kubernetes/kubernetes, pkg/apis/rbac/helpers_test.go at commit
025f2834a128798cef30018a5e6a6ae82b5ad885: TestResourceMatches (every case).
"""

from __future__ import annotations

import pytest
from fakeapi.rbac import Rule, resource_matches

# (name, rule resources, combined requested resource, requested subresource, expected)
CASES = [
    ("all matches 01", ("*",), "foo", "", True),
    ("checks all rules", ("doesn't match", "*"), "foo", "", True),
    ("matches exact rule", ("foo/bar",), "foo/bar", "bar", True),
    ("matches exact rule 02", ("foo/bar",), "foo", "", False),
    ("matches subresource", ("*/scale",), "foo/scale", "scale", True),
    (
        "doesn't match partial subresource hit",
        ("foo/bar", "*/other"),
        "foo/other/segment",
        "other/segment",
        False,
    ),
    (
        "matches subresource with multiple slashes",
        ("*/other/segment",),
        "foo/other/segment",
        "other/segment",
        True,
    ),
    ("doesn't fail on empty", ("",), "foo/other/segment", "other/segment", False),
    ("doesn't fail on slash", ("/",), "foo/other/segment", "other/segment", False),
    ("doesn't fail on missing subresource", ("*/",), "foo/other/segment", "other/segment", False),
    (
        "doesn't match on not star",
        ("*something/other/segment",),
        "foo/other/segment",
        "other/segment",
        False,
    ),
    (
        "doesn't match on something else",
        ("something/other/segment",),
        "foo/other/segment",
        "other/segment",
        False,
    ),
]


@pytest.mark.parametrize(("name", "resources", "combined", "subresource", "expected"), CASES)
def test_resource_matches(
    name: str, resources: tuple[str, ...], combined: str, subresource: str, expected: bool
) -> None:
    assert resource_matches(Rule(resources=resources), combined, subresource) is expected, name
