"""Conformance: CDI spec versions, against the CDI spec package's own tables.

Source: github.com/cncf-tags/container-device-interface, file specs-go/version_test.go at
commit 05ae4b5bb730a036cb3f79477bd6676eea4a8c83 (TestMinimumRequiredVersion,
TestValidateVersion). Specs are written as the JSON they stand for; ids are upstream's names.
"""

from __future__ import annotations

from typing import Any

import pytest

from gpuplane.node.cdi import minimum_version, validate_version

MINIMUM_REQUIRED_VERSION: list[tuple[str, dict[str, Any], str]] = [
    ("no version-specific features", {}, "0.3.0"),
    ("v0.4.0 mount type", {"containerEdits": {"mounts": [{"type": "bind"}]}}, "0.4.0"),
    (
        "v0.5.0 device node host path",
        {"containerEdits": {"deviceNodes": [{"hostPath": "/dev/example"}]}},
        "0.5.0",
    ),
    ("v0.5.0 numeric device name", {"devices": [{"name": "0example"}]}, "0.5.0"),
    ("v0.6.0 annotation", {"annotations": {"example.com/key": "value"}}, "0.6.0"),
    ("v0.6.0 dot in class", {"kind": "example.com/example.class"}, "0.6.0"),
    ("v0.7.0 additional GIDs", {"containerEdits": {"additionalGids": [1]}}, "0.7.0"),
    ("v0.7.0 Intel RDT", {"containerEdits": {"intelRdt": {}}}, "0.7.0"),
    (
        "v1.1.0 Intel RDT schemata",
        {"containerEdits": {"intelRdt": {"schemata": ["L3:0=ff"]}}},
        "1.1.0",
    ),
    (
        "v1.1.0 Intel RDT monitoring",
        {"containerEdits": {"intelRdt": {"enableMonitoring": True}}},
        "1.1.0",
    ),
    ("v1.1.0 network device", {"containerEdits": {"netDevices": [{}]}}, "1.1.0"),
    (
        "device-scoped feature",
        {"devices": [{"containerEdits": {"additionalGids": [1]}}]},
        "0.7.0",
    ),
    (
        "newest feature wins",
        {
            "annotations": {"example.com/key": "value"},
            "containerEdits": {"additionalGids": [1], "netDevices": [{}]},
        },
        "1.1.0",
    ),
]


@pytest.mark.parametrize(
    ("spec", "want"),
    [case[1:] for case in MINIMUM_REQUIRED_VERSION],
    ids=[case[0] for case in MINIMUM_REQUIRED_VERSION],
)
def test_minimum_required_version(spec: dict[str, Any], want: str) -> None:
    assert minimum_version(spec) == want


GIDS = {"containerEdits": {"additionalGids": [1]}}

VALIDATE_VERSION: list[tuple[str, str, dict[str, Any], str | None]] = [
    ("current version", "1.1.0", {}, None),
    ("optional v prefix", "v1.1.0", {}, None),
    ("earliest supported version", "0.3.0", {}, None),
    ("known but unsupported v0.1.0", "0.1.0", {}, "the spec version must be at least v0.3.0"),
    ("known but unsupported v0.2.0", "v0.2.0", {}, "the spec version must be at least v0.3.0"),
    ("unknown version", "1.2.0", {}, 'invalid version "1.2.0"'),
    ("malformed version", "not-a-version", {}, 'invalid version "not-a-version"'),
    ("version too old for feature", "0.6.0", GIDS, "the spec version must be at least v0.7.0"),
    ("minimum version for feature", "0.7.0", GIDS, None),
    ("newer version for feature", "1.1.0", GIDS, None),
]


@pytest.mark.parametrize(
    ("version", "spec", "want_error"),
    [case[1:] for case in VALIDATE_VERSION],
    ids=[case[0] for case in VALIDATE_VERSION],
)
def test_validate_version(version: str, spec: dict[str, Any], want_error: str | None) -> None:
    spec = {**spec, "cdiVersion": version}
    if want_error is None:
        validate_version(spec)
    else:
        with pytest.raises(ValueError) as caught:
            validate_version(spec)
        assert want_error in str(caught.value)
