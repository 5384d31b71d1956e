"""Conformance: CDI spec loading and version derivation, against the CDI library's tables.

Source: github.com/cncf-tags/container-device-interface, file pkg/cdi/spec_test.go at commit
05ae4b5bb730a036cb3f79477bd6676eea4a8c83 (TestReadSpec, TestNewSpec, TestCurrentVersionIsValid,
TestRequiredVersion). Specs are the YAML upstream uses, or the JSON its Go values stand for;
ids are upstream's names.
"""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
import yaml
from cdi_helpers import schema_validator

from gpuplane.node.cdi import VERSIONS, minimum_version, validate_spec, validate_version


def load(text: str) -> None:
    """Read a spec as the CDI library does: YAML that must be a spec, then its checks."""
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise ValueError("no CDI spec data")
    validate_spec(data)


DEV1 = """
devices:
  - name: "dev1"
    containerEdits:
      env:
        - "FOO=BAR"
"""
KIND = 'kind: "vendor.com/device"\n'
V030 = 'cdiVersion: "0.3.0"\n'

READ_SPEC: list[tuple[str, str, bool]] = [
    # name, YAML, refused (unparsable or invalid)
    ("unparsable", "\nxyzzy: garbled\n", True),
    ("invalid, missing CDI version", KIND + DEV1, True),
    ("empty", "", True),
    ("valid", 'cdiVersion: "0.3.0"\n' + KIND + DEV1, False),
]


@pytest.mark.parametrize(
    ("text", "refused"), [case[1:] for case in READ_SPEC], ids=[case[0] for case in READ_SPEC]
)
def test_read_spec(text: str, refused: bool) -> None:
    if refused:
        with pytest.raises(ValueError):
            load(text)
    else:
        load(text)


THREE_DEVICES = """
devices:
  - name: "dev1"
    containerEdits:
      env:
        - "FOO=BAR"
  - name: "dev2"
    containerEdits:
      env:
        - "BAR=FOO"
  - name: "{third}"
    containerEdits:
      env:
        - "SPACE=BAR"
"""

NEW_SPEC: list[tuple[str, str, str]] = [
    # name, YAML, outcome: "ok", "invalid" (pkg/cdi refuses) or "schema" (the schema refuses)
    ("unparsable", "\nxyzzy: garbled\n", "schema"),
    ("invalid, missing CDI version", KIND + DEV1, "schema"),
    ("invalid, invalid CDI version", 'cdiVersion: "0.0.0"\n' + KIND + DEV1, "invalid"),
    ("invalid, missing vendor/class", 'cdiVersion: "0.3.0"\n' + DEV1, "schema"),
    ("invalid, invalid vendor", V030 + "kind: vendor.com-/device\n" + DEV1, "invalid"),
    ("invalid, invalid class", V030 + "kind: vendor.com/device=\n" + DEV1, "invalid"),
    (
        "invalid, missing required edits",
        'cdiVersion: "0.3.0"\nkind: vendor.com/device\ndevices:\n  - name: "dev1"\n',
        "schema",
    ),
    (
        "invalid, conflicting devices",
        'cdiVersion: "0.3.0"\nkind: vendor.com/device\n' + THREE_DEVICES.format(third="dev1"),
        "invalid",
    ),
    (
        "valid",
        'cdiVersion: "0.3.0"\nkind: vendor.com/device\n' + THREE_DEVICES.format(third="dev3"),
        "ok",
    ),
]


@pytest.mark.parametrize(
    ("text", "outcome"), [case[1:] for case in NEW_SPEC], ids=[case[0] for case in NEW_SPEC]
)
def test_new_spec(text: str, outcome: str) -> None:
    if outcome == "ok":
        load(text)
        return
    with pytest.raises(ValueError):
        load(text)
    if outcome == "schema":  # the vendored schema refuses it too
        with pytest.raises(jsonschema.ValidationError):
            schema_validator().validate(yaml.safe_load(text))


def test_current_version_is_valid() -> None:
    validate_version({"cdiVersion": VERSIONS[-1]})
    assert VERSIONS[-1] == "1.1.0"


ENV = {"env": ["FOO=bar"]}

REQUIRED_VERSION: list[tuple[str, dict[str, Any], str]] = [
    ("empty spec returns lowest version", {}, "0.3.0"),
    (
        "hostPath set returns version 0.5.0",
        {"containerEdits": {"deviceNodes": [{"hostPath": "/host/path/set"}]}},
        "0.5.0",
    ),
    (
        "hostPath equal to Path required v0.5.0",
        {"containerEdits": {"deviceNodes": [{"hostPath": "/some/path", "path": "/some/path"}]}},
        "0.5.0",
    ),
    (
        "mount type set returns version 0.4.0",
        {"containerEdits": {"mounts": [{"type": "bind"}]}},
        "0.4.0",
    ),
    (
        "newest required version is selected",
        {
            "annotations": {"key": "value"},
            "containerEdits": {
                "deviceNodes": [{"hostPath": "/host/path/set"}],
                "mounts": [{"type": "bind"}],
            },
        },
        "0.6.0",
    ),
    (
        "device with name starting with digit requires v0.5.0",
        {"devices": [{"name": "0", "containerEdits": ENV}]},
        "0.5.0",
    ),
    (
        "device with name starting with letter requires minimum version",
        {"devices": [{"name": "device0", "containerEdits": ENV}]},
        "0.3.0",
    ),
    ("spec annotations require v0.6.0", {"annotations": {"key": "value"}}, "0.6.0"),
    (
        "device annotations require v0.6.0",
        {"devices": [{"name": "device0", "annotations": {"key": "value"}, "containerEdits": ENV}]},
        "0.6.0",
    ),
    ("dotted name (class) label require v0.6.0", {"kind": "vendor.com/class.sub"}, "0.6.0"),
    ("IntelRdt requires v0.7.0", {"containerEdits": {"intelRdt": {"closID": "foo"}}}, "0.7.0"),
    (
        "IntelRdt (on devices) requires v0.7.0",
        {"devices": [{"name": "device0", "containerEdits": {"intelRdt": {"closID": "foo"}}}]},
        "0.7.0",
    ),
    ("additionalGIDs in spec require v0.7.0", {"containerEdits": {"additionalGids": [5]}}, "0.7.0"),
    (
        "additionalGIDs in device require v0.7.0",
        {"devices": [{"name": "device0", "containerEdits": {"additionalGids": [5]}}]},
        "0.7.0",
    ),
    (
        "global edit RDT schemata requires v1.1.0",
        {"containerEdits": {"intelRdt": {"schemata": ["foo"]}}},
        "1.1.0",
    ),
    (
        "global edit RDT monitoring requires v1.1.0",
        {"containerEdits": {"intelRdt": {"enableMonitoring": True}}},
        "1.1.0",
    ),
    (
        "device edit RDT schemata requires v1.1.0",
        {"devices": [{"name": "device0", "containerEdits": {"intelRdt": {"schemata": ["foo"]}}}]},
        "1.1.0",
    ),
    (
        "device edit RDT monitoring requires v1.1.0",
        {
            "devices": [
                {"name": "device0", "containerEdits": {"intelRdt": {"enableMonitoring": True}}}
            ]
        },
        "1.1.0",
    ),
]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [case[1:] for case in REQUIRED_VERSION],
    ids=[case[0] for case in REQUIRED_VERSION],
)
def test_required_version(spec: dict[str, Any], expected: str) -> None:
    assert minimum_version(spec) == expected
