"""YAML documents that remember the line of every key and item, and located access to them.

`YamlMap` and `YamlList` are plain `dict` and `list` that also carry the 1-based line of each
key and item (built by the loader in `gpuplane.objects.yaml_load`). `Field` pairs a value with
its `Location` (file, line, field path) so that readers can check types and raise errors that
say where, without threading lines by hand.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from gpuplane.errors import Location, ManifestError

#: Where readers report what they skip or ignore: the place, and a message for people.
Warn = Callable[[Location, str], None]


class YamlMap(dict[Any, Any]):
    """A YAML mapping that remembers its own line and the line of each key and value.

    `line` is None for an object that never was text (JSON from the API server).
    """

    def __init__(self, line: int | None) -> None:
        super().__init__()
        self.line = line
        self.key_lines: dict[Any, int] = {}
        #: Where each value's content starts; for a block scalar (`|`, `>`) the line after it.
        self.value_lines: dict[Any, int] = {}


class YamlList(list[Any]):
    """A YAML sequence that remembers its own line and the line of each item."""

    def __init__(self, line: int | None) -> None:
        super().__init__()
        self.line = line
        self.item_lines: list[int | None] = []

def describe(value: object) -> str:
    """How a YAML value reads in an error message: "a list", "the number 0.5", ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"a {type(value).__name__}"


@dataclass(frozen=True)
class Field:
    """A value read from YAML with its location; accessors check the type and say where it failed.

    A missing key (or an explicit null, which Kubernetes treats the same) is a Field whose value
    is None, located at the line of the mapping that lacks it.
    """

    value: object
    where: Location
    #: Line where the value's text starts, when it differs from the key's (block scalars).
    content_line: int | None = None

    @property
    def present(self) -> bool:
        return self.value is not None

    def error(self, message: str, hint: str | None = None) -> ManifestError:
        """A ManifestError placed at this field."""
        return ManifestError(message, where=self.where, hint=hint)

    def __getitem__(self, key: str) -> Field:
        value = self.value
        if isinstance(value, YamlMap):
            # A missing key is placed where its parent is named, which is where it would go.
            line = value.key_lines.get(key, self.where.line or value.line)
            return Field(value.get(key), self.where.child(key, line), value.value_lines.get(key))
        if value is None:
            return Field(None, self.where.child(key))
        raise self.error(f"must be a mapping, got {describe(value)}")

    def items(self) -> list[tuple[str, Field]]:
        """The entries of a mapping (none when missing); keys must be strings."""
        value = self.value
        if value is None:
            return []
        if not isinstance(value, YamlMap):
            raise self.error(f"must be a mapping, got {describe(value)}")
        entries = []
        for key in value:
            if not isinstance(key, str):
                line = value.key_lines.get(key, value.line)
                raise self.where_at(line).error(
                    f"keys must be strings, got {describe(key)}", hint="quote the key"
                )
            entries.append((key, self[key]))
        return entries

    def each(self) -> list[Field]:
        """The items of a list (none when missing), each located as `path[i]`."""
        value = self.value
        if value is None:
            return []
        if not isinstance(value, YamlList):
            raise self.error(f"must be a list, got {describe(value)}")
        return [
            Field(item, self.where.child(f"[{i}]", line))
            for i, (item, line) in enumerate(zip(value, value.item_lines, strict=True))
        ]

    def where_at(self, line: int | None) -> Field:
        """This field, placed at another line when one is given."""
        if line is None:
            return self
        return Field(self.value, Location(self.where.file, line, self.where.field))

    def optional_string(self) -> str | None:
        """A string, or None when missing."""
        if self.value is None or isinstance(self.value, str):
            return self.value
        raise self.error(
            f"must be a string, got {describe(self.value)}", hint=_quote_hint(self.value)
        )

    def string(self, default: str = "") -> str:
        """A string, or `default` when missing."""
        text = self.optional_string()
        return default if text is None else text

    def required_string(self) -> str:
        """A non-empty string; missing or empty is an error."""
        text = self.optional_string()
        if not text:
            raise self.error("required value")
        return text

    def optional_integer(self) -> int | None:
        """An integer, or None when missing (a boolean is not an integer)."""
        value = self.value
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise self.error(f"must be an integer, got {describe(value)}")

    def integer(self, default: int) -> int:
        """An integer, or `default` when missing."""
        number = self.optional_integer()
        return default if number is None else number

    def boolean(self, default: bool) -> bool:
        """true or false, or `default` when missing."""
        value = self.value
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        raise self.error(f"must be true or false, got {describe(value)}")

    def string_map(self) -> dict[str, str]:
        """A mapping of strings to strings (labels, annotations, nodeSelector)."""
        return {key: field.string() for key, field in self.items()}

    def strings(self) -> tuple[str, ...]:
        """A list of strings (none when missing)."""
        return tuple(item.string() for item in self.each())


def _quote_hint(value: object) -> str | None:
    if isinstance(value, bool | int | float):
        # Kubernetes refuses unquoted numbers and booleans where it wants strings.
        text = str(value).lower() if isinstance(value, bool) else repr(value)
        return f'quote it: "{text}"'
    return None


@dataclass(frozen=True)
class Document:
    """One YAML document of a file: where it starts and its body (a mapping)."""

    file: str
    index: int
    line: int
    body: YamlMap

    def root(self) -> Field:
        """The body as a Field located at the document's first line."""
        return Field(self.body, Location(self.file, self.line))


def from_api(value: Any) -> Any:
    """A decoded API object (plain JSON) in the located form the readers take, without lines.

    The readers then serve objects from an API server exactly as they serve manifest files;
    errors name the object and field path, having no file line to name.
    """
    if isinstance(value, dict):
        out = YamlMap(None)
        for key, item in value.items():
            out[key] = from_api(item)
        return out
    if isinstance(value, list):
        items = YamlList(None)
        for item in value:
            items.append(from_api(item))
            items.item_lines.append(None)
        return items
    return value


def locate(body: object, path: Iterable[str | int]) -> int | None:
    """The 1-based line of a nested field (keys and list indexes), or None when it is not there."""
    line: int | None = None
    node = body
    for step in path:
        if isinstance(node, YamlMap) and step in node:
            line = node.key_lines[step]
            node = node[step]
        elif isinstance(node, YamlList) and isinstance(step, int) and 0 <= step < len(node):
            line = node.item_lines[step]
            node = node[step]
        else:
            return None
    return line

