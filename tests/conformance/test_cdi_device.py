"""Conformance: CDI device checks, against the CDI library's own table.

Source: github.com/cncf-tags/container-device-interface, file pkg/cdi/device_test.go at
commit 05ae4b5bb730a036cb3f79477bd6676eea4a8c83 (TestDeviceValidate). Each device is checked
inside an otherwise valid spec by gpuplane.node.cdi.validate_spec; ids are upstream's names.
"""

from __future__ import annotations

from typing import Any

import pytest

from gpuplane.node.cdi import validate_spec

DEVICE_VALIDATE: list[tuple[str, dict[str, Any], bool]] = [
    ("valid name, valid edits", {"name": "dev", "containerEdits": {"env": ["FOO=BAR"]}}, False),
    ("valid name, invalid edits", {"name": "dev", "containerEdits": {"env": ["=BAR"]}}, True),
    (
        "invalid name, valid edits",
        {"name": "a dev ice", "containerEdits": {"env": ["FOO=BAR"]}},
        True,
    ),
]


@pytest.mark.parametrize(
    ("device", "invalid"),
    [case[1:] for case in DEVICE_VALIDATE],
    ids=[case[0] for case in DEVICE_VALIDATE],
)
def test_device_validate(device: dict[str, Any], invalid: bool) -> None:
    spec = {"cdiVersion": "1.1.0", "kind": "vendor.com/device", "devices": [device]}
    if invalid:
        with pytest.raises(ValueError):
            validate_spec(spec)
    else:
        validate_spec(spec)
