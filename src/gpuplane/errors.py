"""Errors meant for people: each says where (file:line, field path) and what to do.

The CLI prints an InputError in one or two lines and exits 2; nothing else in gpuplane
should turn bad input into a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Location:
    """Where a value came from: file, 1-based line, and a dotted field path."""

    file: str | None = None
    line: int | None = None
    field: str | None = None

    def child(self, field: str, line: int | None = None) -> Location:
        """The location of a field below this one (`spec` -> `spec.containers[0]`)."""
        if self.field and not field.startswith("["):
            path = f"{self.field}.{field}"
        else:
            path = f"{self.field or ''}{field}"
        # The constructor, not dataclasses.replace: readers make one per field they read.
        return Location(self.file, line if line is not None else self.line, path)

    def __str__(self) -> str:
        head = ""
        if self.file is not None:
            head = self.file if self.line is None else f"{self.file}:{self.line}"
        elif self.line is not None:
            head = f"line {self.line}"
        if self.field:
            return f"{head}: {self.field}" if head else self.field
        return head


class InputError(Exception):
    """Bad input from a user: a manifest, a cluster spec, a quantity, a trace row."""

    def __init__(
        self, message: str, *, where: Location | None = None, hint: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.where = where
        self.hint = hint

    def at(self, where: Location) -> InputError:
        """The same error, placed at `where` unless it already knows a place."""
        if self.where is None or (self.where.file is None and self.where.line is None):
            field = where.field
            if self.where is not None and self.where.field:
                field = self.where.field
            self.where = replace(where, field=field)
        return self

    def __str__(self) -> str:
        where = str(self.where) if self.where is not None else ""
        text = f"{where}: {self.message}" if where else self.message
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class QuantityError(InputError):
    """A Kubernetes quantity that does not parse or is out of range."""


class ManifestError(InputError):
    """A Kubernetes manifest that breaks Kubernetes' own rules or gpuplane's."""


class UnknownGpuModelError(InputError):
    """A GPU model that the catalog does not know."""


class ClusterSpecError(InputError):
    """A cluster spec file that does not validate."""


#: The longest line an error shows; a longer one (a 5 MB value echoed back) keeps its ends.
MAX_LINE = 400


def shorten(text: str, limit: int = MAX_LINE) -> str:
    """Each line of `text` cut to about `limit` characters, saying how much was left out."""
    lines = []
    for line in text.split("\n"):
        if len(line) > limit:
            head, tail = line[: limit * 2 // 3], line[-(limit // 4) :]
            left = len(line) - len(head) - len(tail)
            line = f"{head} … ({left:,} characters left out) … {tail}"
        lines.append(line)
    return "\n".join(lines)
