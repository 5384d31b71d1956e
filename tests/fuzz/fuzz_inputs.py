"""Hostile inputs for the readers: values, random structures, and mutations of valid inputs.

A mutation starts from a real input (an example, a fixture) loaded as plain data, changes a
few places in it (a value replaced by a hostile one, a key dropped, renamed or added, a value
wrapped in a list or a mapping, a deep nest), dumps it back to YAML, and sometimes damages the
text itself (truncated, a control character or a stray byte put in, a line doubled).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import yaml
from hypothesis import strategies as st

SEEDS = Path(__file__).parent / "seeds"
REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"

#: Numbers and strings that have broken readers before, or plausibly could.
NASTY_NUMBERS: list[Any] = [
    0, -1, 1, 2**31, 2**31 - 1, 2**53 + 1, 2**63, 2**64, -(2**63) - 1, 10**30, -(10**30),
    10**400, 1e30, -1e30, 1e308, 5e-324, -0.0, 0.5, math.inf, -math.inf, math.nan,
]  # fmt: skip
NASTY_STRINGS: list[str] = [
    "", " ", "1e30", "-1", "1e309", "NaN", ".nan", ".inf", "-.inf", "inf", "0x10", "0o7",
    "1Ei", "1E", "9" * 40, "9" * 40 + "Gi", "-5Gi", "1.5", "1/2", "1e-30", "100m", "0.0001m",
    "1k", "1Ki", "+1", "1_000", "٣", "१२", "∞", "\x00", "\x1b[31m", "\u202eabc", "💯", ":x:",
    "[red]x[/]", "x[/]", "a\nb", "a: b", "- a", "{", "*alias", "&anchor x", "!!python/none",
    "null", "~", "true", "yes", "on", "latest", "all", "none", "mixed", "default",
    "NVIDIA-A100-SXM4-80GB", "nvidia.com/gpu", "Exists", "NoSchedule", "In", "x" * 5_000,
]  # fmt: skip

scalars = st.one_of(
    st.sampled_from(NASTY_NUMBERS),
    st.sampled_from(NASTY_STRINGS),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.booleans(),
    st.none(),
)
keys = st.one_of(
    st.sampled_from(["name", "count", "gpus", "spec", "metadata", "items", "replicas", "<<"]),
    st.text(max_size=8),
)
#: Random JSON-like structures (what YAML or an API server can hand a reader).
structures = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=16,
)


def seed_documents(*paths: Path) -> list[list[Any]]:
    """Each file's documents as plain data (what a mutation starts from)."""
    return [list(yaml.safe_load_all(p.read_text(encoding="utf-8"))) for p in paths]


def _places(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into a structure (mapping keys and list indices), the root included."""
    found = [path]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _places(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _places(child, (*path, index))
    return found


def _get(value: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        value = value[step]
    return value


def _nest(value: Any, depth: int) -> Any:
    for _ in range(depth):
        value = [value]
    return value


@st.composite
def mutated(draw: st.DrawFn, documents: list[Any], *, max_changes: int = 3) -> Any:
    """A copy of `documents` (a list of YAML documents as data) with a few places changed."""
    data = yaml.safe_load(yaml.safe_dump(documents))  # a deep copy, whatever the seed holds
    for _ in range(draw(st.integers(1, max_changes))):
        places = [p for p in _places(data) if p]
        if not places:
            break
        path = draw(st.sampled_from(places))
        parent, last = _get(data, path[:-1]), path[-1]
        action = draw(
            st.sampled_from(
                ["value", "value", "value", "drop", "rename", "add", "list", "map", "nest"]
            )
        )
        if action == "value":
            parent[last] = draw(scalars if draw(st.booleans()) else structures)
        elif action == "drop":
            del parent[last]
        elif action == "rename" and isinstance(parent, dict):
            parent[draw(keys)] = parent.pop(last)
        elif action == "add" and isinstance(parent, dict):
            parent[draw(keys)] = draw(structures)
        elif action == "list":
            parent[last] = [parent[last]] * draw(st.integers(0, 3))
        elif action == "map":
            parent[last] = {draw(keys): parent[last]}
        elif action == "nest":
            parent[last] = _nest(parent[last], draw(st.integers(1, 200)))
    return data


def dump(documents: list[Any]) -> str:
    """YAML text of a list of documents; anything yaml cannot dump becomes its repr."""
    try:
        return yaml.safe_dump_all(documents, allow_unicode=True, sort_keys=False)
    except (yaml.YAMLError, RecursionError):
        return repr(documents)


@st.composite
def damaged(draw: st.DrawFn, text: str) -> str:
    """`text` as it is, or cut, spliced with a hostile character, or with a line doubled."""
    action = draw(st.sampled_from(["keep", "keep", "cut", "insert", "double", "replace"]))
    at = draw(st.integers(0, len(text)))
    if action == "cut":
        return text[:at]
    if action == "insert":
        junk = draw(
            st.sampled_from(["\x00", "\x07", "\x1b", "\ufeff", "\ufffe", "\t", ":"])
            | st.text(max_size=4)
        )
        return text[:at] + junk + text[at:]
    if action == "double":
        lines = text.splitlines(keepends=True)
        if lines:
            index = draw(st.integers(0, len(lines) - 1))
            lines.insert(index, lines[index])
        return "".join(lines)
    if action == "replace":
        end = draw(st.integers(at, min(len(text), at + 20)))
        return text[:at] + draw(st.sampled_from(NASTY_STRINGS[:40])) + text[end:]
    return text


def yaml_texts(*paths: Path) -> st.SearchStrategy[str]:
    """The YAML files at `paths`, mutations of them, random YAML documents, and random text."""
    seeds = seed_documents(*paths)
    mutations = st.sampled_from(seeds).flatmap(lambda docs: mutated(docs)).map(dump)
    randoms = st.lists(structures, min_size=1, max_size=3).map(dump)
    originals = st.sampled_from([p.read_text(encoding="utf-8") for p in paths])
    return st.one_of(
        originals,
        mutations.flatmap(damaged),
        mutations,
        randoms,
        st.text(max_size=200),
    )
