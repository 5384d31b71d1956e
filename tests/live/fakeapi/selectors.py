"""Label and field selectors in the apiserver's grammar (what kube-scheduler and kubelets use)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Obj = Mapping[str, Any]


class SelectorError(ValueError):
    """A selector the apiserver would answer with 400 Bad Request."""


@dataclass(frozen=True)
class Requirement:
    key: str
    op: str  # "=", "!=", "in", "notin", "exists", "!"
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        if self.op == "=":
            return present and value == self.values[0]
        if self.op == "!=":
            return not present or value != self.values[0]
        if self.op == "in":
            return present and value in self.values
        if self.op == "notin":
            return not present or value not in self.values
        if self.op == "exists":
            return present
        return not present


_SET_RE = re.compile(r"^([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)$")


def _split_top_level(text: str) -> list[str]:
    """Split on commas that are not inside a parenthesised value set."""
    parts: list[str] = []
    depth = 0
    current = ""
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [part.strip() for part in parts if part.strip()]


def parse_label_selector(text: str) -> list[Requirement]:
    requirements: list[Requirement] = []
    for term in _split_top_level(text):
        set_match = _SET_RE.match(term)
        if set_match:
            key, op, values = set_match.groups()
            items = tuple(v.strip() for v in values.split(",") if v.strip())
            requirements.append(Requirement(key, op, items))
        elif "!=" in term:
            key, value = term.split("!=", 1)
            requirements.append(Requirement(key.strip(), "!=", (value.strip(),)))
        elif "==" in term or "=" in term:
            key, value = term.split("==", 1) if "==" in term else term.split("=", 1)
            requirements.append(Requirement(key.strip(), "=", (value.strip(),)))
        elif term.startswith("!"):
            requirements.append(Requirement(term[1:].strip(), "!"))
        elif re.fullmatch(r"[A-Za-z0-9._/-]+", term):
            requirements.append(Requirement(term, "exists"))
        else:
            raise SelectorError(f"unable to parse requirement: {term!r}")
    return requirements


def _path(obj: Obj, dotted: str) -> str:
    node: Any = obj
    for part in dotted.split("."):
        node = node.get(part) if isinstance(node, Mapping) else None
    return "" if node is None else str(node)


# Field selectors are per kind on a real apiserver; these are the ones the scheduler and agents use.
FIELDS: dict[str, frozenset[str]] = {
    "pods": frozenset(
        {
            "metadata.name",
            "metadata.namespace",
            "spec.nodeName",
            "spec.schedulerName",
            "status.phase",
        }
    ),
}
COMMON_FIELDS = frozenset({"metadata.name", "metadata.namespace"})


def parse_field_selector(text: str, plural: str) -> list[Requirement]:
    allowed = FIELDS.get(plural, COMMON_FIELDS)
    requirements: list[Requirement] = []
    for term in _split_top_level(text):
        if "!=" in term:
            key, value = term.split("!=", 1)
            op = "!="
        elif "=" in term:
            key, value = term.split("==", 1) if "==" in term else term.split("=", 1)
            op = "="
        else:
            raise SelectorError(f"invalid field selector: {term!r}")
        key = key.strip()
        if key not in allowed:
            raise SelectorError(f'field label not supported: "{key}"')
        requirements.append(Requirement(key, op, (value.strip(),)))
    return requirements


Matcher = Callable[[Obj], bool]


def matcher(label_selector: str | None, field_selector: str | None, plural: str) -> Matcher:
    """One predicate for both selectors; raises SelectorError on a malformed one."""
    labels = parse_label_selector(label_selector or "")
    fields = parse_field_selector(field_selector or "", plural)

    def match(obj: Obj) -> bool:
        obj_labels = (obj.get("metadata") or {}).get("labels") or {}
        if not all(req.matches(obj_labels) for req in labels):
            return False
        for req in fields:
            value = _path(obj, req.key)
            if (value == req.values[0]) != (req.op == "="):
                return False
        return True

    return match
