"""Multi-document YAML that remembers the line of every key and item, and located access to it.

Loading goes through a `yaml.SafeLoader` subclass (never the unsafe loaders) whose mappings and
sequences are `YamlMap` and `YamlList`: plain `dict` and `list` that also carry the 1-based line
of each key and item. `Field` pairs a value with its `Location` (file, line, field path) so that
readers can check types and raise errors that say where, without threading lines by hand.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from gpuplane.errors import InputError, Location, ManifestError

_MERGE_TAG = "tag:yaml.org,2002:merge"

#: Where readers report what they skip or ignore: the place, and a message for people.
Warn = Callable[[Location, str], None]
_SUFFIXES = (".yaml", ".yml")


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


class _LineLoader(yaml.SafeLoader):
    """SafeLoader building YamlMap/YamlList; `line_offset` shifts lines of embedded documents."""

    line_offset = 0

    def line_of(self, node: yaml.Node) -> int:
        return int(node.start_mark.line) + 1 + self.line_offset

    def content_line(self, node: yaml.Node) -> int:
        # A block scalar's mark sits on its `|` or `>` indicator; its text starts a line below.
        if isinstance(node, ScalarNode) and node.style in ("|", ">"):
            return self.line_of(node) + 1
        return self.line_of(node)

    def construct_located_map(self, node: MappingNode) -> YamlMap:
        own = sum(1 for key, _ in node.value if key.tag != _MERGE_TAG)
        self.flatten_mapping(node)
        # flatten_mapping puts merged pairs first; only the node's own keys may not repeat.
        first_own = len(node.value) - own
        result = YamlMap(self.line_of(node))
        for index, (key_node, value_node) in enumerate(node.value):
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, Hashable):
                raise ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    "found a key that is a mapping or a list",
                    key_node.start_mark,
                )
            if index >= first_own and key in result and result.key_lines[key] >= 0:
                raise ConstructorError(
                    None,
                    None,
                    f"duplicate key {key!r} (first at line {result.key_lines[key]})",
                    key_node.start_mark,
                )
            result[key] = self.construct_object(value_node, deep=True)
            # Merged keys get a negative sentinel first so that an own key may override them.
            result.key_lines[key] = self.line_of(key_node) if index >= first_own else -1
            result.value_lines[key] = self.content_line(value_node)
        for key, line in result.key_lines.items():
            if line < 0:
                result.key_lines[key] = self.line_of(node)
        return result

    def construct_located_seq(self, node: SequenceNode) -> YamlList:
        result = YamlList(self.line_of(node))
        for item in node.value:
            result.append(self.construct_object(item, deep=True))
            result.item_lines.append(self.line_of(item))
        return result


_LineLoader.add_constructor("tag:yaml.org,2002:map", _LineLoader.construct_located_map)
_LineLoader.add_constructor("tag:yaml.org,2002:seq", _LineLoader.construct_located_seq)


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


def load_text(text: str, file: str = "<string>", *, first_line: int = 1) -> list[Document]:
    """Parse every document of `text`; null documents are skipped, others must be mappings.

    `first_line` is the line of the text's first line in `file` (for YAML embedded in YAML).
    """
    loader = _LineLoader(text)
    loader.line_offset = first_line - 1
    documents: list[Document] = []
    try:
        index = 0
        while loader.check_node():
            node = loader.get_node()
            body = loader.construct_document(node) if node is not None else None
            line = loader.line_of(node) if node is not None else first_line
            if body is not None:
                if not isinstance(body, YamlMap):
                    raise ManifestError(
                        f"a document must be a mapping, got {describe(body)}",
                        where=Location(file, line),
                    )
                documents.append(Document(file, index, line, body))
            index += 1
    except yaml.MarkedYAMLError as exc:
        raise _malformed(exc, file, loader.line_offset) from None
    except yaml.YAMLError as exc:
        raise ManifestError(f"invalid YAML: {exc}", where=Location(file)) from None
    finally:
        loader.dispose()
    return documents


def _malformed(exc: yaml.MarkedYAMLError, file: str, offset: int) -> ManifestError:
    mark = exc.problem_mark or exc.context_mark
    line = int(mark.line) + 1 + offset if mark is not None else None
    problem = " ".join(str(exc.problem or exc.context or "unreadable").split())
    if exc.context and exc.problem:
        problem = f"{problem} ({' '.join(exc.context.split())})"
    return ManifestError(
        f"invalid YAML: {problem}",
        where=Location(file, line),
        hint="check the indentation and the quoting around this line",
    )


def load_file(path: str | Path) -> list[Document]:
    """Read one YAML file (UTF-8) into its documents."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError("is not UTF-8 text", where=Location(name)) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", where=Location(name)) from None
    return load_text(text, name)


def expand_paths(paths: Sequence[str | Path], *, recursive: bool = True) -> list[Path]:
    """Files as given, and for directories every *.yaml/*.yml in them, sorted by path.

    Directories are walked recursively unless `recursive` is False (kubectl's default without -R).
    """
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            listed = path.rglob("*") if recursive else path.glob("*")
            found = (p for p in listed if p.suffix in _SUFFIXES and p.is_file())
            files.extend(sorted(found, key=lambda p: p.as_posix()))
        elif path.is_file():
            files.append(path)
        else:
            raise InputError(
                "no such file or directory",
                where=Location(str(raw)),
                hint="name YAML files or directories that hold them",
            )
    return files


def load_paths(paths: Sequence[str | Path], *, recursive: bool = True) -> list[Document]:
    """All documents of the given files and directories, in a stable order."""
    return [doc for path in expand_paths(paths, recursive=recursive) for doc in load_file(path)]
