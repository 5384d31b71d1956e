"""Validate a scenario body: the base, then every variant merged onto it, all before anything runs.

Errors are InputErrors that name the file, the line and the field path as the user wrote it
(a variant's error points into the variant), with a hint: the fields known at that place and
the closest one to a misspelling, the policies or GPU models there are, what a price means.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic.alias_generators import to_camel, to_snake

from gpuplane.cluster.spec_base import first_error, line_at, path_text, raise_error, validate
from gpuplane.errors import InputError, Location
from gpuplane.objects.yamlio import locate
from gpuplane.sim.twin.merge import Path, deep_merge, trace_to_override
from gpuplane.sim.twin.spec import VARIANT_FIELDS, TwinSpec, VariantHead

M = TypeVar("M", bound=BaseModel)
_SHARED = "the workload, queues, seed and horizon are shared by every variant"
_HINTS = {
    "onDemand": "prices are USD per GPU-hour, zero or more, by GPU model (NVIDIA-L4, T4, ...)",
    "spotDiscount": "a fraction of the on-demand price: 0.65 means spot costs 35% of on demand",
    "utilization": "the share of one whole GPU's compute the work keeps busy, in (0, 1]",
    "horizon": "how long to simulate, as a duration such as 24h",
}


@dataclass(frozen=True)
class Variant:
    """One variant: its name, what it is for, and the whole scenario it amounts to."""

    name: str
    description: str
    spec: TwinSpec


@dataclass(frozen=True)
class ParsedTwin:
    base: TwinSpec
    variants: tuple[Variant, ...]


def parse_twin(body: Mapping[str, Any], file: str | None = None) -> ParsedTwin:
    """Validate the base and every variant; raise the first error as an InputError."""
    raw = {k: v for k, v in body.items() if k != "variants"}
    base = _validate(TwinSpec, raw, body, file, [])
    listed = body.get("variants")
    if listed is None:
        return ParsedTwin(base, (Variant("base", base.description, base),))
    if not isinstance(listed, list) or not listed:
        raise InputError(
            "variants must be a non-empty list",
            where=Location(file, locate(body, ["variants"]), "variants"),
            hint="each item is a mapping with a name and what it overrides, e.g. "
            "{name: fgd, placement: fgd}",
        )
    variants: list[Variant] = []
    seen: set[str] = set()
    for i, item in enumerate(listed):
        prefix: Path = ["variants", i]
        if not isinstance(item, Mapping):
            raise InputError(
                "a variant is a mapping with a name and what it overrides",
                where=Location(file, locate(body, prefix), path_text(prefix)),
                hint="e.g. {name: fgd, placement: fgd}",
            )
        head = _head(item, body, file, prefix)
        if head.name in seen:
            where = Location(file, locate(body, [*prefix, "name"]), path_text([*prefix, "name"]))
            raise InputError(f"variant {head.name!r} appears twice", where=where)
        seen.add(head.name)
        override = {k: v for k, v in item.items() if k not in ("name", "description")}
        spec = _validate_variant(raw, override, body, file, prefix)
        variants.append(Variant(head.name, head.description, spec))
    return ParsedTwin(base, tuple(variants))


def _head(item: Mapping[str, Any], body: Any, file: str | None, prefix: Path) -> VariantHead:
    """A variant's name and description, and only fields a variant may override."""
    unknown = [k for k in item if to_snake(str(k)) not in VARIANT_FIELDS]
    if unknown:
        path = [*prefix, unknown[0]]
        raise InputError(
            f"a variant cannot override {unknown[0]}",
            where=Location(file, line_at(body, path), path_text(path)),
            hint=f"a variant may set {', '.join(map(to_camel, VARIANT_FIELDS))}; {_SHARED}",
        )
    return _validate(VariantHead, item, body, file, prefix)


def _validate(model: type[M], data: Any, body: Any, file: str | None, prefix: Path) -> M:
    return validate(model, data, file=file, body=body, prefix=prefix, hints=_HINTS)


def _validate_variant(
    raw: Mapping[str, Any], override: Mapping[str, Any], body: Any, file: str | None, prefix: Path
) -> TwinSpec:
    """The base with a variant merged onto it; an error points into the variant's override."""
    merged = deep_merge(raw, override)
    try:
        return TwinSpec.model_validate(merged)
    except ValidationError as exc:
        err, loc = first_error(exc, merged)
        mine, rest = trace_to_override(raw, override, loc)
        path = [*prefix, *mine, *rest]
        where = Location(file, line_at(body, [*prefix, *mine]), path_text(path))
        raise_error(err, TwinSpec, loc, where, hints=_HINTS)
