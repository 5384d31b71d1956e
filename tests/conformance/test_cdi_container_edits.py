"""Conformance: CDI container edits checks, against the CDI library's own table.

Source: github.com/cncf-tags/container-device-interface, file pkg/cdi/container-edits_test.go
at commit 05ae4b5bb730a036cb3f79477bd6676eea4a8c83 (TestValidateContainerEdits). Edits are
written as the JSON they stand for; ids are upstream's names.
"""

from __future__ import annotations

from typing import Any

import pytest

from gpuplane.node.cdi import validate_edits

VALID_HOOKS = [
    {
        "hookName": "prestart",
        "path": "/usr/local/bin/prestart-vendor-hook",
        "args": ["--verbose"],
        "env": ["VENDOR_ENV1=value1"],
    },
    {
        "hookName": "createRuntime",
        "path": "/usr/local/bin/cr-vendor-hook",
        "args": ["--debug"],
        "env": ["VENDOR_ENV2=value2"],
    },
    {
        "hookName": "createContainer",
        "path": "/usr/local/bin/cc-vendor-hook",
        "args": ["--create"],
        "env": ["VENDOR_ENV3=value3"],
    },
    {
        "hookName": "startContainer",
        "path": "/usr/local/bin/sc-vendor-hook",
        "args": ["--start"],
        "env": ["VENDOR_ENV4=value4"],
    },
    {
        "hookName": "poststart",
        "path": "/usr/local/bin/poststart-vendor-hook",
        "env": ["VENDOR_ENV5=value5"],
    },
    {"hookName": "poststop", "path": "/usr/local/bin/poststop-vendor-hook"},
]

VALIDATE_CONTAINER_EDITS: list[tuple[str, dict[str, Any] | None, bool]] = [
    ("valid, empty edits", None, False),
    ("valid, env var", {"env": ["BAR=BARVALUE1"]}, False),
    ("invalid env, empty var", {"env": [""]}, True),
    ("invalid env, no var name", {"env": ["=foo"]}, True),
    ("invalid env, no assignment", {"env": ["FOOBAR"]}, True),
    ("valid device, path only", {"deviceNodes": [{"path": "/dev/null"}]}, False),
    ("valid device, path+type", {"deviceNodes": [{"path": "/dev/null", "type": "c"}]}, False),
    (
        "valid device, path+type+permissions",
        {"deviceNodes": [{"path": "/dev/null", "type": "b", "permissions": "rwm"}]},
        False,
    ),
    ("invalid device, empty path", {"deviceNodes": [{"path": ""}]}, True),
    (
        "invalid device, wrong type",
        {"deviceNodes": [{"path": "/dev/vendorctl", "type": "f"}]},
        True,
    ),
    (
        "invalid device, wrong permissions",
        {"deviceNodes": [{"path": "/dev/vendorctl", "type": "b", "permissions": "to land"}]},
        True,
    ),
    (
        "valid device, with NoPermissions",
        {"deviceNodes": [{"path": "/dev/vendorctl", "type": "b", "permissions": "none"}]},
        False,
    ),
    (
        "valid mount",
        {"mounts": [{"hostPath": "/dev/vendorctl", "containerPath": "/dev/vendorctl"}]},
        False,
    ),
    (
        "invalid mount, empty host path",
        {"mounts": [{"hostPath": "", "containerPath": "/dev/vendorctl"}]},
        True,
    ),
    (
        "invalid mount, empty container path",
        {"mounts": [{"hostPath": "/dev/vendorctl", "containerPath": ""}]},
        True,
    ),
    ("valid hooks", {"hooks": VALID_HOOKS}, False),
    ("invalid hook, empty path", {"hooks": [{"hookName": "prestart"}]}, True),
    (
        "invalid hook, wrong hook name",
        {
            "hooks": [
                {
                    "hookName": "misCreateRuntime",
                    "path": "/usr/local/bin/cr-vendor-hook",
                    "args": ["--debug"],
                    "env": ["VENDOR_ENV2=value2"],
                }
            ]
        },
        True,
    ),
    (
        "invalid hook, wrong env",
        {
            "hooks": [
                {
                    "hookName": "poststart",
                    "path": "/usr/local/bin/cr-vendor-hook",
                    "args": ["--debug"],
                    "env": ["=value2"],
                }
            ]
        },
        True,
    ),
    ("valid rdt config", {"intelRdt": {"closID": "foo.bar"}}, False),
    ("valid rdt config, root clos", {"intelRdt": {"closID": "/"}}, False),
    ("invalid rdt config, invalid closID (slash)", {"intelRdt": {"closID": "foo/bar"}}, True),
    ("invalid rdt config, invalid closID (dot)", {"intelRdt": {"closID": "."}}, True),
    ("invalid rdt config, invalid closID (double dot)", {"intelRdt": {"closID": ".."}}, True),
    ("invalid rdt config, invalid closID (newline)", {"intelRdt": {"closID": "foo\nbar"}}, True),
    (
        "valid Linux net device",
        {"netDevices": [{"hostInterfaceName": "eno1", "name": "netdev0"}]},
        False,
    ),
    (
        "invalid Linux net device, empty host interface name",
        {"netDevices": [{"hostInterfaceName": "", "name": "netdev0"}]},
        True,
    ),
    (
        "invalid Linux net device, empty container interface name",
        {"netDevices": [{"hostInterfaceName": "eno1", "name": ""}]},
        True,
    ),
]


@pytest.mark.parametrize(
    ("edits", "invalid"),
    [case[1:] for case in VALIDATE_CONTAINER_EDITS],
    ids=[case[0] for case in VALIDATE_CONTAINER_EDITS],
)
def test_validate_container_edits(edits: dict[str, Any] | None, invalid: bool) -> None:
    if invalid:
        with pytest.raises(ValueError):
            validate_edits(edits or {})
    else:
        validate_edits(edits or {})
