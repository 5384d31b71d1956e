"""Validate a scenario body: the base, then every variant merged onto it, all before anything runs.

Errors are InputErrors that name the file, the line and the field path as the user wrote it
(a variant's error points into the variant), with a hint: the fields known at that place and
the closest one to a misspelling, the policies or GPU models there are, what a price means.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic.alias_generators import to_camel

from gpuplane.cluster.spec_base import FieldError
from gpuplane.errors import InputError, Location
from gpuplane.objects.yamlio import locate
from gpuplane.sim.twin_merge import Path, deep_merge, trace_to_override
from gpuplane.sim.twin_spec import VARIANT_FIELDS, TwinSpec, VariantHead

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
                where=Location(file, locate(body, prefix), _path_text(prefix)),
                hint="e.g. {name: fgd, placement: fgd}",
            )
        head = _validate(VariantHead, item, body, file, prefix)
        if head.name in seen:
            where = Location(file, locate(body, [*prefix, "name"]), _path_text([*prefix, "name"]))
            raise InputError(f"variant {head.name!r} appears twice", where=where)
        seen.add(head.name)
        override = {k: v for k, v in item.items() if k not in ("name", "description")}
        spec = _validate_variant(raw, override, body, file, prefix)
        variants.append(Variant(head.name, head.description, spec))
    return ParsedTwin(base, tuple(variants))


def _validate(model: type[M], data: Any, body: Any, file: str | None, prefix: Path) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = _clean_loc(data, err["loc"])
        path = [*prefix, *loc]
        return _raise(err, model, loc, path, locate(body, path) or locate(body, prefix), file)


def _validate_variant(
    raw: Mapping[str, Any], override: Mapping[str, Any], body: Any, file: str | None, prefix: Path
) -> TwinSpec:
    merged = deep_merge(raw, override)
    try:
        return TwinSpec.model_validate(merged)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = _clean_loc(merged, err["loc"])
        mine, rest = trace_to_override(raw, override, loc)
        path = [*prefix, *mine, *rest]
        line = locate(body, [*prefix, *mine]) or locate(body, prefix)
        return _raise(err, TwinSpec, loc, path, line, file)


def _raise(
    err: Any, model: type[BaseModel], loc: Path, path: Path, line: int | None, file: str | None
) -> typing.NoReturn:
    where = Location(file, line, _path_text(path) or None)
    cause = err.get("ctx", {}).get("error")
    if isinstance(cause, FieldError):
        raise InputError(cause.error.message, where=where, hint=cause.error.hint) from None
    message = str(err["msg"]).removeprefix("Value error, ")
    if model is VariantHead and err["type"] == "extra_forbidden":
        message = f"a variant cannot override {loc[-1]}"
        hint = f"a variant may set {', '.join(map(to_camel, VARIANT_FIELDS))}; {_SHARED}"
        raise InputError(message, where=where, hint=hint) from None
    if err["type"] == "extra_forbidden":
        message = f"unknown field {loc[-1]}"
    elif err["type"] == "missing":
        message = f"missing required field {loc[-1]}"
    raise InputError(message, where=where, hint=_hint(err, model, loc)) from None


def _clean_loc(data: Any, loc: Sequence[str | int]) -> Path:
    """The error's path in the data: pydantic's union tags and `[key]` markers dropped."""
    out: Path = []
    node: Any = data
    for step in loc:
        inside = (isinstance(node, Mapping) and step in node) or (
            isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node)
        )
        if inside:
            node = node[step]
        elif isinstance(step, str) and _is_tag(step):
            continue
        else:
            node = None
        out.append(step)
    return out


def _is_tag(step: str) -> bool:
    return (
        "[" in step
        or ("-" in step and step.split("-")[0] in ("function", "json", "lax", "tagged"))
        or step[:1].isupper()
        or step in ("float", "int", "str", "bool", "list", "dict", "none")
    )


def _path_text(path: Sequence[str | int]) -> str:
    text = ""
    for step in path:
        if isinstance(step, int):
            text += f"[{step}]"
        else:
            text += f".{step}" if text else str(step)
    return text


def _hint(err: Any, model: type[BaseModel], loc: Path) -> str | None:
    names = [s for s in loc if isinstance(s, str)]
    if err["type"] in ("extra_forbidden", "missing"):
        known = _fields_of(_model_at(model, loc[:-1]))
        if not known:
            return None
        close = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.6)
        guess = f"did you mean {close[0]}? " if close and err["type"] != "missing" else ""
        return f"{guess}known fields here: {', '.join(known)}"
    for name in reversed(names):
        if name in _HINTS:
            return _HINTS[name]
    return None


def _model_at(model: type[BaseModel], loc: Path) -> type[BaseModel] | None:
    """The pydantic model that describes the value at `loc` (None past a leaf)."""
    annotation: Any = model
    for step in loc:
        annotation = _strip(annotation)
        origin = typing.get_origin(annotation)
        if origin in (list, dict):
            annotation = typing.get_args(annotation)[-1]  # an item, or a mapping's value
            continue
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None
        fields = {info.alias or name: info for name, info in annotation.model_fields.items()}
        info = fields.get(str(step))
        if info is None:
            return None
        annotation = info.annotation
    annotation = _strip(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _strip(annotation: Any) -> Any:
    """`X | None` -> X; for other unions the first member that is a model, list or mapping."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            if arg is type(None):
                continue
            if typing.get_origin(arg) in (list, dict) or (
                isinstance(arg, type) and issubclass(arg, BaseModel)
            ):
                return arg
        return None
    if typing.get_origin(annotation) is typing.Annotated:
        return _strip(typing.get_args(annotation)[0])
    return annotation


def _fields_of(model: type[BaseModel] | None) -> list[str]:
    if model is None:
        return []
    return [info.alias or name for name, info in model.model_fields.items()]
