"""Shared by the CDI conformance modules: the upstream commit and the vendored schema."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from helpers import TESTS

#: github.com/cncf-tags/container-device-interface, the commit every CDI table comes from.
CDI_COMMIT = "05ae4b5bb730a036cb3f79477bd6676eea4a8c83"
CDI_DATA = TESTS / "data" / "cdi"


def schema_validator() -> jsonschema.Draft7Validator:
    """The vendored upstream schema (schema/schema.json with its defs.json)."""
    schema = json.loads((CDI_DATA / "schema.json").read_text())
    defs = json.loads((CDI_DATA / "defs.json").read_text())
    registry: Registry[Any] = Registry().with_resources(
        [
            ("defs.json", Resource.from_contents(defs, default_specification=DRAFT7)),
            ("schema.json", Resource.from_contents(schema, default_specification=DRAFT7)),
        ]
    )
    return jsonschema.Draft7Validator(schema, registry=registry)
