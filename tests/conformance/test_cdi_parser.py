"""Conformance: CDI vendor, class and device names, against the CDI parser's own table.

Source: github.com/cncf-tags/container-device-interface, file pkg/parser/parser_test.go at
commit 05ae4b5bb730a036cb3f79477bd6676eea4a8c83 (TestQualifiedName). Each case is a
qualified device name "vendor/class=name" with the parts upstream splits it into; the node
agent writes the kind ("vendor/class") and the device names, so the harness checks that
gpuplane accepts exactly the parts upstream accepts. Ids are the device strings.
"""

from __future__ import annotations

import pytest

from gpuplane.node.cdi import validate_device_name, validate_kind

QUALIFIED_NAME: list[tuple[str, str, str, str, bool]] = [
    # device, vendor, class, name, qualified (all three parts valid)
    ("vendor.com/class=dev", "vendor.com", "class", "dev", True),
    ("a/b=c", "a", "b", "c", True),  # one-letter vendor and class
    ("aa/b=cc", "aa", "b", "cc", True),
    ("a/bb=cc", "a", "bb", "cc", True),
    ("vendor.com/class=0", "vendor.com", "class", "0", True),
    ("vendor1.com/class1=dev1", "vendor1.com", "class1", "dev1", True),
    ("vendor1.com/class.subclass=dev1", "vendor1.com", "class.subclass", "dev1", True),
    ("other-vendor1.com/class_1=dev_1", "other-vendor1.com", "class_1", "dev_1", True),
    (
        "yet_another-vendor2.com/c-lass_2=dev_1:2.3",
        "yet_another-vendor2.com",
        "c-lass_2",
        "dev_1:2.3",
        True,
    ),
    ("_invalid.com/class=dev", "_invalid.com", "class", "dev", False),
    ("invalid2.com-/class=dev", "invalid2.com-", "class", "dev", False),
    ("invalid3.com/_class=dev", "invalid3.com", "_class", "dev", False),
    ("invalid4.com/class_=dev", "invalid4.com", "class_", "dev", False),
    ("invalid5.com/class=-dev", "invalid5.com", "class", "-dev", False),
    ("invalid6.com/class=dev:", "invalid6.com", "class", "dev:", False),
    ("*.com/*dev=*gpu*", "*.com", "*dev", "*gpu*", False),
]


def _valid(check: object, value: str) -> bool:
    assert callable(check)
    try:
        check(value)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize(
    ("device", "vendor", "klass", "name", "qualified"),
    QUALIFIED_NAME,
    ids=[case[0] for case in QUALIFIED_NAME],
)
def test_qualified_name(device: str, vendor: str, klass: str, name: str, qualified: bool) -> None:
    assert device == f"{vendor}/{klass}={name}"  # the parts make the device string back
    kind_ok = _valid(validate_kind, f"{vendor}/{klass}")
    name_ok = _valid(validate_device_name, name)
    assert (kind_ok and name_ok) == qualified
