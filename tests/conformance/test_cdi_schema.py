"""Conformance: the CDI schema's own test specs, through the schema and gpuplane's checks.

Source: github.com/cncf-tags/container-device-interface, directory schema/testdata (used by
schema/schema_test.go) at commit 05ae4b5bb730a036cb3f79477bd6676eea4a8c83, vendored unchanged
under tests/data/cdi/testdata. Ids are the upstream file names.
"""

from __future__ import annotations

import json

import jsonschema
import pytest
from cdi_helpers import CDI_DATA, schema_validator

from gpuplane.node.cdi import validate_spec

GOOD = ["good/minimal.json", "good/spec-example.json"]
BAD = ["bad/explicit-empty.json"]


@pytest.mark.parametrize("name", GOOD)
def test_good_specs_pass(name: str) -> None:
    spec = json.loads((CDI_DATA / "testdata" / name).read_text())
    schema_validator().validate(spec)
    validate_spec(spec)


@pytest.mark.parametrize("name", BAD)
def test_bad_specs_fail(name: str) -> None:
    spec = json.loads((CDI_DATA / "testdata" / name).read_text())
    with pytest.raises(jsonschema.ValidationError):
        schema_validator().validate(spec)
    with pytest.raises(ValueError):
        validate_spec(spec)
