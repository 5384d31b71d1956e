"""The kinds the fake serves, and validation of what it receives against their OpenAPI schemas."""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from typing import Any

import jsonschema
import kubernetes_validate.utils
from referencing import Registry, Resource

# The Kubernetes version whose schemas the fake validates against (bundled by kubernetes-validate).
KUBE_VERSION = "1.33"


@dataclass(frozen=True)
class ResourceType:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    # A CRD's openAPIV3Schema; None for built-in kinds (validated by kubernetes-validate) and for
    # CRDs registered without a schema (accepted as they come, like `x-preserve-unknown-fields`).
    schema: dict[str, Any] | None = None
    builtin: bool = False
    # Subresources the kind has; "status" makes the main resource ignore status changes.
    subresources: frozenset[str] = frozenset()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def key(self) -> str:
        return f"{self.group}/{self.version}/{self.plural}"


def _core(
    plural: str, kind: str, namespaced: bool, subs: frozenset[str] = frozenset()
) -> ResourceType:
    return ResourceType("", "v1", plural, kind, namespaced, builtin=True, subresources=subs)


BUILTIN: tuple[ResourceType, ...] = (
    _core("pods", "Pod", True, frozenset({"status", "binding", "eviction"})),
    _core("nodes", "Node", False, frozenset({"status"})),
    _core("namespaces", "Namespace", False),
    _core("configmaps", "ConfigMap", True),
    _core("events", "Event", True),
    ResourceType("events.k8s.io", "v1", "events", "Event", True, builtin=True),
    ResourceType("coordination.k8s.io", "v1", "leases", "Lease", True, builtin=True),
)


class SchemaError(ValueError):
    """An object that does not match its kind's schema (the apiserver answers 422 Invalid)."""


_crd_validators: dict[int, jsonschema.protocols.Validator] = {}


def validate(resource: ResourceType, obj: dict[str, Any]) -> None:
    """Check obj against the kind's OpenAPI schema, as the apiserver does before storing it."""
    if obj.get("apiVersion") != resource.api_version or obj.get("kind") != resource.kind:
        raise SchemaError(
            f"expected apiVersion {resource.api_version!r} and kind {resource.kind!r}, got "
            f"{obj.get('apiVersion')!r} and {obj.get('kind')!r}"
        )
    if resource.builtin:
        validator = _builtin_validator(resource.kind, resource.api_version)
    elif resource.schema is None:
        return
    else:
        validator = _crd_validators.get(id(resource.schema))
        if validator is None:
            validator = jsonschema.Draft202012Validator(resource.schema)
            _crd_validators[id(resource.schema)] = validator
    if _known_valid(validator, obj):
        return
    error = jsonschema.exceptions.best_match(validator.iter_errors(obj))
    if error is not None:
        raise SchemaError(_describe(error))


# Top-level keywords whose verdict depends only on the object's keys and each property's own
# value: an object with these is valid exactly when its key set passes and each property's
# value is valid against its subschema.
_SHALLOW = {"type", "properties", "required", "description", "$schema", "$id"}
_SHALLOW_EXTENSIONS = "x-kubernetes-"
# (validator, property) -> the property values (canonical JSON) found valid, and the validators
# of the properties' subschemas. Bounded: cleared when it grows past _MAX_KNOWN values.
_known: dict[tuple[int, str], set[str]] = {}
_sub_validators: dict[tuple[int, str], jsonschema.protocols.Validator] = {}
_MAX_KNOWN = 200_000


def _known_valid(validator: jsonschema.protocols.Validator, obj: dict[str, Any]) -> bool:
    """True when obj is valid, checked property by property with the values seen valid before
    remembered: the watch's writes to one object (a patch, a binding, a status) change one
    part of it, and validating a whole Pod costs a millisecond. False means "not known": the
    caller validates the whole object (and so reports exactly the error it always did)."""
    schema = validator.schema
    if not isinstance(schema, dict) or not isinstance(obj, dict):
        return False
    if any(k not in _SHALLOW and not k.startswith(_SHALLOW_EXTENSIONS) for k in schema):
        return False
    if schema.get("type", "object") != "object":
        return False
    if any(name not in obj for name in schema.get("required", ())):
        return False
    properties = schema.get("properties") or {}
    if sum(len(v) for v in _known.values()) > _MAX_KNOWN:
        _known.clear()
    checked: list[tuple[set[str], str]] = []
    for name, value in obj.items():
        sub = properties.get(name)
        if sub is None:
            continue  # no additionalProperties keyword: any other key is allowed
        key = (id(validator), name)
        known = _known.setdefault(key, set())
        text = json.dumps(value, sort_keys=True)
        if text in known:
            continue
        sub_validator = _sub_validators.get(key)
        if sub_validator is None:
            # The subschema keeps the root's $id: its $refs are relative to it.
            root_id = {"$id": schema["$id"]} if "$id" in schema else {}
            sub_validator = validator.evolve(schema={**root_id, **sub})
            _sub_validators[key] = sub_validator
        if next(sub_validator.iter_errors(value), None) is not None:
            return False
        checked.append((known, text))
    for known, text in checked:
        known.add(text)
    return True


@functools.cache
def _builtin_validator(kind: str, api_version: str) -> jsonschema.protocols.Validator:
    """A validator for one built-in kind from kubernetes-validate's bundled schemas, built once.

    kubernetes_validate.validate() reloads the 1.7 MB definitions file on every call; the fake
    validates every write, so it keeps one compiled validator per kind instead.
    """
    # The schema files are named <kind>-<group's first label>-<version>.json (core: <kind>-v1.json).
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    folder = f"kubernetes-json-schema/v{KUBE_VERSION}.0-local"
    schema = kubernetes_validate.utils.schema_contents(
        f"{folder}/{kind.lower()}-{group_version}.json", KUBE_VERSION
    )
    definitions = kubernetes_validate.utils.schema_contents(
        f"{folder}/_definitions.json", KUBE_VERSION
    )
    registry: Registry[Any] = Resource.from_contents(definitions) @ (
        Resource.from_contents(schema) @ Registry()
    )
    return jsonschema.Draft202012Validator(schema, registry=registry)


def _describe(error: Exception) -> str:
    if isinstance(error, jsonschema.ValidationError):
        where = ".".join(str(part) for part in error.absolute_path) or "<root>"
        return f"{where}: {error.message}"
    return str(error)
