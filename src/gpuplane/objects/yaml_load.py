"""Loading YAML text and files into located documents, safely, fast and within limits.

The loader is a subclass of the C-accelerated `yaml.CSafeLoader` (never the unsafe loaders;
libyaml parses about ten times faster than the pure-Python parser) that builds the `YamlMap`
and `YamlList` of `gpuplane.objects.yamlio`, with the line of every key and item. Every input
of gpuplane (manifests, cluster specs, scenarios, device-plugin configs, inventories) is read
here; every failure is a `ManifestError` or `InputError` with the file and line.
"""

from __future__ import annotations

import errno
import stat
from collections.abc import Callable, Hashable, Sequence
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from gpuplane.errors import InputError, Location, ManifestError
from gpuplane.objects.yamlio import Document, YamlList, YamlMap, describe

_MERGE_TAG = "tag:yaml.org,2002:merge"
_STR_TAG = "tag:yaml.org,2002:str"
#: Keys that make flatten_mapping rewrite a mapping: merges (`<<`) and the rare `=` value key.
_SPECIAL_KEY_TAGS = frozenset({_MERGE_TAG, "tag:yaml.org,2002:value"})
#: Limits on what one YAML input may be (see docs/limits.md): Kubernetes objects nest a few
#: dozen levels at most; deeper input is an attack or a mistake, and Python's recursion would
#: end it with a traceback.
MAX_DEPTH = 100
MAX_FILE_BYTES = 256 * 1024 * 1024

#: Told how many more bytes of input were read, now and then (for a progress bar).
Progress = Callable[[int], None]
#: Documents between two progress reports.
_PROGRESS_EVERY = 500
_SUFFIXES = (".yaml", ".yml")


class _LineLoader(yaml.CSafeLoader):
    """SafeLoader building YamlMap/YamlList; `line_offset` shifts lines of embedded documents."""

    line_offset = 0

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def _construct(self, node: Node) -> Any:
        # Most scalars are strings, which construct to their text: skip the generic path.
        if node.__class__ is ScalarNode and node.tag == _STR_TAG:
            return node.value
        try:
            return self.construct_object(node, deep=True)
        except ValueError as exc:
            # A scalar the resolver took for a number or date that Python refuses: an int of
            # over 4,300 digits, 2024-02-30.
            problem = f"unreadable value: {exc}"
            raise ConstructorError(None, None, problem, node.start_mark) from None

    def _enter(self, node: Node) -> None:
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise ConstructorError(
                None, None, f"nested more than {MAX_DEPTH} levels deep", node.start_mark
            )

    def line_of(self, node: yaml.Node) -> int:
        return int(node.start_mark.line) + 1 + self.line_offset

    def construct_located_map(self, node: MappingNode) -> YamlMap:
        self._enter(node)
        try:
            return self._located_map(node)
        finally:
            self._depth -= 1

    def _located_map(self, node: MappingNode) -> YamlMap:
        # The hot path of reading large files: lines computed inline, string keys and values
        # taken as they are, merge keys (`<<`) flattened only where there are any.
        offset = 1 + self.line_offset
        first_own = 0
        if any(key.tag in _SPECIAL_KEY_TAGS for key, _ in node.value):
            own = sum(1 for key, _ in node.value if key.tag != _MERGE_TAG)
            self.flatten_mapping(node)
            # flatten_mapping puts merged pairs first; only the node's own keys may not repeat.
            first_own = len(node.value) - own
        result = YamlMap(node.start_mark.line + offset)
        key_lines, value_lines = result.key_lines, result.value_lines
        for index, (key_node, value_node) in enumerate(node.value):
            key = self._construct(key_node)
            if type(key) is not str and not isinstance(key, Hashable):
                raise ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    "found a key that is a mapping or a list",
                    key_node.start_mark,
                )
            if index >= first_own and key in result and key_lines[key] >= 0:
                raise ConstructorError(
                    None,
                    None,
                    f"duplicate key {key!r} (first at line {key_lines[key]})",
                    key_node.start_mark,
                )
            result[key] = self._construct(value_node)
            # Merged keys get a negative sentinel first so that an own key may override them.
            key_lines[key] = key_node.start_mark.line + offset if index >= first_own else -1
            line = value_node.start_mark.line + offset
            # A block scalar's mark sits on its `|` or `>` indicator; its text starts below.
            block = getattr(value_node, "style", None) in ("|", ">")
            value_lines[key] = line + 1 if block else line
        if first_own:
            for key, line in key_lines.items():
                if line < 0:
                    key_lines[key] = node.start_mark.line + offset
        return result

    def construct_located_seq(self, node: SequenceNode) -> YamlList:
        self._enter(node)
        try:
            result = YamlList(self.line_of(node))
            for item in node.value:
                result.append(self._construct(item))
                result.item_lines.append(self.line_of(item))
            return result
        finally:
            self._depth -= 1


_LineLoader.add_constructor("tag:yaml.org,2002:map", _LineLoader.construct_located_map)
_LineLoader.add_constructor("tag:yaml.org,2002:seq", _LineLoader.construct_located_seq)


def load_text(
    text: str,
    file: str = "<string>",
    *,
    first_line: int = 1,
    progress: Progress | None = None,
    size: int | None = None,
) -> list[Document]:
    """Parse every document of `text`; null documents are skipped, others must be mappings.

    `first_line` is the line of the text's first line in `file` (for YAML embedded in YAML).
    """
    documents: list[Document] = []
    loader: _LineLoader | None = None
    try:
        # Inside the try: libyaml refuses some input (control characters) as it is handed over.
        loader = _LineLoader(text)
        loader.line_offset = first_line - 1
        index = 0
        told = 0  # of `size` (the text's length unless the file's bytes are given)
        scale = (len(text) if size is None else size) / max(1, len(text))
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
            if progress is not None and node is not None and index % _PROGRESS_EVERY == 0:
                now = int(node.end_mark.index * scale)
                progress(now - told)
                told = now
        if progress is not None:
            progress(round(len(text) * scale) - told)
    except yaml.MarkedYAMLError as exc:
        raise _malformed(exc, file, first_line - 1) from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, max(0, exc.position)) + first_line
        reason = " ".join(str(exc.reason).split())
        raise ManifestError(
            f"invalid YAML: {reason} (character #x{exc.character:04x})",
            where=Location(file, line),
            hint="YAML allows no control characters but tab and line breaks",
        ) from None
    except yaml.YAMLError as exc:
        problem = " ".join(str(exc).split())
        raise ManifestError(f"invalid YAML: {problem}", where=Location(file)) from None
    except ValueError as exc:  # a document that is one scalar Python refuses (see _construct)
        raise ManifestError(f"invalid YAML: {exc}", where=Location(file)) from None
    except RecursionError:
        raise ManifestError(
            f"invalid YAML: nested too deeply (at most {MAX_DEPTH} levels)",
            where=Location(file),
        ) from None
    finally:
        if loader is not None:
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


def load_file(path: str | Path, progress: Progress | None = None) -> list[Document]:
    """Read one YAML file (UTF-8) into its documents."""
    name = str(path)
    if not Path(path).is_file():
        # Not only "missing": reading a named pipe would block, a device never end.
        raise InputError(unreadable(Path(path)), where=Location(name))
    try:
        size = Path(path).stat().st_size
        if size > MAX_FILE_BYTES:
            raise InputError(
                f"is {size / 2**20:,.0f} MiB; YAML files are read up to "
                f"{MAX_FILE_BYTES // 2**20} MiB each",
                where=Location(name),
                hint="split it into several files",
            )
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError("is not UTF-8 text", where=Location(name)) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", where=Location(name)) from None
    return load_text(text, name, progress=progress, size=size)


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
                unreadable(path),
                where=Location(str(raw)),
                hint="name YAML files or directories that hold them",
            )
    return files


def unreadable(path: Path) -> str:
    """Why `path` is neither a file nor a folder to read: the real reason, not always "missing"."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "is a symbolic link that loops"
        if exc.errno == errno.ENOENT and path.is_symlink():
            return "is a symbolic link to nothing"
        return str(exc.strerror or exc).lower()
    if stat.S_ISFIFO(mode):
        return "is a named pipe, not a file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "is a device, not a file"
    if stat.S_ISSOCK(mode):
        return "is a socket, not a file"
    return "is not a regular file"


def load_paths(
    paths: Sequence[str | Path], *, recursive: bool = True, progress: Progress | None = None
) -> list[Document]:
    """All documents of the given files and directories, in a stable order."""
    files = expand_paths(paths, recursive=recursive)
    return [doc for path in files for doc in load_file(path, progress)]
