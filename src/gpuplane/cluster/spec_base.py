"""The pydantic base of gpuplane's config files, and pydantic's errors turned into InputErrors.

Cluster specs and `gpuplane simulate` scenarios are validated with pydantic and fail the same
way: an InputError naming the file, the line and the field path as the user wrote it, with
a hint. An unknown key lists the fields known there and the closest one ("did you mean"); a
missing required field points at the line of the mapping that lacks it.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel

from gpuplane.errors import InputError, Location
from gpuplane.objects.yamlio import YamlList, YamlMap, locate

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
Path = list[str | int]
_TYPES = ("float", "int", "str", "bool", "list", "dict", "none")


class FieldError(ValueError):
    """Carries an InputError through pydantic, which only collects ValueErrors."""

    def __init__(self, error: InputError) -> None:
        super().__init__(error.message)
        self.error = error


def checked(convert: Callable[[Any], T], value: Any) -> T:
    try:
        return convert(value)
    except InputError as exc:
        raise FieldError(exc) from None


class Model(BaseModel):
    # No infinite or NaN numbers anywhere in a spec: `ratePerHour: .inf` or a NaN weight ran
    # to meaningless figures with exit 0.
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        alias_generator=to_camel,
        populate_by_name=True,
        allow_inf_nan=False,
    )


def validate(
    model: type[M],
    data: Any,
    *,
    file: str | None = None,
    body: Any = None,
    prefix: Sequence[str | int] = (),
    error: type[InputError] = InputError,
    hints: Mapping[str, str] | None = None,
) -> M:
    """`data` validated as `model`; the first problem raised as an `error` at its place.

    `data` lies at `prefix` inside `body`, the YAML document as loaded (`body` defaults to
    `data`): lines are looked up there. `hints` are hints by field name, for wrong values.
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err, loc = first_error(exc, data)
        path = [*prefix, *loc]
        where = Location(file, line_at(data if body is None else body, path), path_text(path))
        raise_error(err, model, loc, where, error=error, hints=hints)


def first_error(exc: ValidationError, data: Any) -> tuple[Any, Path]:
    """Pydantic's first error, and its path in `data` (union tags and `[key]` markers dropped).

    A misspelt key is both an unknown field and a missing one: the unknown one is reported,
    since it says what to fix ("did you mean").
    """
    errors = exc.errors()
    lacking = {tuple(e["loc"][:-1]) for e in errors if e["type"] == "missing"}
    misspelt = [
        e for e in errors if e["type"] == "extra_forbidden" and tuple(e["loc"][:-1]) in lacking
    ]
    err = misspelt[0] if misspelt else errors[0]
    out: Path = []
    node: Any = data
    for step in err["loc"]:
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
    return err, out


def raise_error(
    err: Any,
    model: type[BaseModel],
    loc: Path,
    where: Location,
    *,
    error: type[InputError] = InputError,
    hints: Mapping[str, str] | None = None,
) -> typing.NoReturn:
    """Raise pydantic's error `err` (at `loc` inside `model`) as an `error` at `where`."""
    cause = err.get("ctx", {}).get("error")
    if isinstance(cause, FieldError):
        raise error(cause.error.message, where=where, hint=cause.error.hint) from None
    message = str(err["msg"]).removeprefix("Value error, ")
    hint = None
    if err["type"] in ("extra_forbidden", "missing") and loc:
        known = fields_of(model_at(model, loc[:-1]))
        if err["type"] == "extra_forbidden":
            message = f"unknown field {loc[-1]}"
            close = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.6)
            guess = f"did you mean {close[0]}? " if close else ""
        else:
            message = f"missing required field {loc[-1]}"
            guess = ""
        hint = f"{guess}known fields here: {', '.join(known)}" if known else None
    else:
        for name in reversed([s for s in loc if isinstance(s, str)]):
            if hints and name in hints:
                hint = hints[name]
                break
    raise error(message, where=where, hint=hint) from None


def line_at(body: Any, path: Sequence[str | int]) -> int | None:
    """The line of `path` in a loaded YAML body, else of the deepest part of it that exists.

    A missing field is thus placed at the mapping that lacks it (its key's line, or the
    document's first line for a field missing at the top).
    """
    for end in range(len(path), 0, -1):
        line = locate(body, path[:end])
        if line is not None:
            return line
    return body.line if isinstance(body, (YamlMap, YamlList)) else None


def path_text(path: Sequence[str | int]) -> str:
    """`nodePools[0].gpu.model`, as the user wrote it."""
    text = ""
    for step in path:
        if isinstance(step, int):
            text += f"[{step}]"
        else:
            text += f".{step}" if text else str(step)
    return text


def model_at(model: type[BaseModel], loc: Sequence[str | int]) -> type[BaseModel] | None:
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


def fields_of(model: type[BaseModel] | None) -> list[str]:
    """A model's field names as written in files."""
    if model is None:
        return []
    return [info.alias or name for name, info in model.model_fields.items()]


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


def _is_tag(step: str) -> bool:
    return (
        "[" in step
        or ("-" in step and step.split("-")[0] in ("function", "json", "lax", "tagged"))
        or step[:1].isupper()
        or step in _TYPES
    )
