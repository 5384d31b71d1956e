"""Variants as partial overrides: deep-merged onto the base, errors traced back to the override.

Merging happens on the raw YAML data, before validation, so that a variant is checked exactly
like a whole scenario and a misspelt field fails with its place in the variant
(`variants[2].cluster.nodePools[0].sharing.mdoe`), not silently.

Rules: mappings merge key by key; a list whose items all carry a `name` merges item by name
(an override item updates the base item of that name, or is appended when no base item has
it), so a variant names the pool it changes instead of repeating the others; any other value
replaces the base's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

Path = list[str | int]


def deep_merge(base: Any, override: Any) -> Any:
    """`override` merged onto `base` (neither is modified)."""
    if isinstance(base, Mapping) and isinstance(override, Mapping):
        out = dict(base)
        for key, value in override.items():
            out[key] = deep_merge(base[key], value) if key in base else value
        return out
    if _named(base) and _named(override):
        merged = list(base)
        where = {item["name"]: i for i, item in enumerate(merged)}
        for item in override:
            i = where.get(item["name"])
            if i is None:
                where[item["name"]] = len(merged)
                merged.append(item)
            else:
                merged[i] = deep_merge(merged[i], item)
        return merged
    return override


def _named(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(item, Mapping) and isinstance(item.get("name"), str) for item in value)
    )


def trace_to_override(base: Any, override: Any, loc: Sequence[str | int]) -> tuple[Path, Path]:
    """Split a path into the merged data into the part the override wrote and the rest.

    The first part is a path into `override` (list indexes renumbered to the override's own
    items); the second continues it into what came from `base`. An error whose path lies wholly
    in the first part is the override's own doing.
    """
    merged = deep_merge(base, override)
    mine: Path = []
    node_o, node_m, node_b = override, merged, base
    for k, step in enumerate(loc):
        if isinstance(node_o, Mapping) and isinstance(step, str) and step in node_o:
            node_b = node_b.get(step) if isinstance(node_b, Mapping) else None
            node_o, node_m = node_o[step], node_m[step]
            mine.append(step)
            continue
        if (
            isinstance(node_o, list)
            and isinstance(node_m, list)
            and isinstance(step, int)
            and 0 <= step < len(node_m)
        ):
            j = _override_index(node_b, node_o, node_m, step)
            if j is not None:
                node_b = _base_item(node_b, node_m[step])
                node_o, node_m = node_o[j], node_m[step]
                mine.append(j)
                continue
        return mine, list(loc[k:])
    return mine, []


def _override_index(base: Any, override: list[Any], merged: list[Any], index: int) -> int | None:
    """Which item of `override` made item `index` of the merged list, if any."""
    if _named(base) and _named(override):
        name = merged[index].get("name") if isinstance(merged[index], Mapping) else None
        for j, item in enumerate(override):
            if item["name"] == name:
                return j
        return None
    return index if index < len(override) else None


def _base_item(base: Any, merged_item: Any) -> Any:
    if _named(base) and isinstance(merged_item, Mapping):
        for item in base:
            if item["name"] == merged_item.get("name"):
                return item
    return None
