"""The patch types the apiserver accepts on JSON: merge, strategic merge (a subset), JSON patch.

Strategic merge subset: maps merge recursively and `null` deletes a key (as in a merge patch);
lists named in MERGE_KEYS merge item by item on their merge key (`$patch: delete` in an item
removes it, `$patch: replace` as a list's first item replaces the whole list); `finalizers` merges
as a set; every other list is replaced. `$retainKeys`, `$setElementOrder` and
`$deleteFromPrimitiveList` are not supported (they would land as literal keys).
"""

from __future__ import annotations

import copy
from typing import Any

# The merge keys of the Kubernetes types that carry x-kubernetes-patch-merge-key on their lists.
MERGE_KEYS: dict[str, str] = {
    "conditions": "type",
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "ports": "containerPort",
    "ownerReferences": "uid",
    "containerStatuses": "name",
    "resourceClaims": "name",
}
SET_LISTS = frozenset({"finalizers"})


class PatchError(ValueError):
    """A patch that cannot apply (the apiserver answers 422 or 400)."""


class UnsupportedPatchError(ValueError):
    """A patch content type the fake does not speak (server-side apply); the apiserver's 415."""


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _merge_list(key: str, target: list[Any], patch: list[Any]) -> list[Any]:
    if key in SET_LISTS:
        return list(target) + [item for item in patch if item not in target]
    merge_key = MERGE_KEYS.get(key)
    if merge_key is None or not all(isinstance(item, dict) for item in patch):
        return copy.deepcopy(patch)
    if patch and patch[0] == {"$patch": "replace"}:
        return copy.deepcopy(patch[1:])
    result = [copy.deepcopy(item) for item in target]
    for item in patch:
        if merge_key not in item:
            raise PatchError(f"map: {item} does not contain declared merge key: {merge_key}")
        index = next(
            (i for i, old in enumerate(result) if old.get(merge_key) == item[merge_key]), None
        )
        if item.get("$patch") == "delete":
            if index is not None:
                del result[index]
        elif index is None:
            result.append(copy.deepcopy(item))
        else:
            result[index] = strategic_merge_patch(result[index], item)
    return result


def strategic_merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key == "$patch":
            continue
        if value is None:
            result.pop(key, None)
        elif isinstance(value, list) and isinstance(result.get(key), list):
            result[key] = _merge_list(key, result[key], value)
        else:
            result[key] = strategic_merge_patch(result.get(key), value)
    return result


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f"invalid JSON pointer: {path!r}")
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]


def _parent(doc: Any, parts: list[str]) -> Any:
    node = doc
    for part in parts[:-1]:
        try:
            node = node[int(part)] if isinstance(node, list) else node[part]
        except (KeyError, IndexError, ValueError) as err:
            raise PatchError(f"path not found: /{'/'.join(parts)}") from err
    return node


def _get(doc: Any, parts: list[str]) -> Any:
    if not parts:
        return doc
    parent = _parent(doc, parts)
    try:
        return parent[int(parts[-1])] if isinstance(parent, list) else parent[parts[-1]]
    except (KeyError, IndexError, ValueError) as err:
        raise PatchError(f"path not found: /{'/'.join(parts)}") from err


def _remove(doc: Any, parts: list[str]) -> Any:
    parent = _parent(doc, parts)
    try:
        return parent.pop(int(parts[-1])) if isinstance(parent, list) else parent.pop(parts[-1])
    except (KeyError, IndexError, ValueError) as err:
        raise PatchError(f"path not found: /{'/'.join(parts)}") from err


def _add(doc: Any, parts: list[str], value: Any) -> Any:
    if not parts:
        return value
    parent = _parent(doc, parts)
    if isinstance(parent, list):
        index = len(parent) if parts[-1] == "-" else int(parts[-1])
        if index > len(parent):
            raise PatchError(f"index out of range: {parts[-1]}")
        parent.insert(index, value)
    elif isinstance(parent, dict):
        parent[parts[-1]] = value
    else:
        raise PatchError(f"path not found: /{'/'.join(parts)}")
    return doc


def json_patch(target: Any, operations: Any) -> Any:
    """RFC 6902 JSON patch: add, remove, replace, move, copy, test."""
    if not isinstance(operations, list):
        raise PatchError("a JSON patch is a list of operations")
    doc = copy.deepcopy(target)
    for op in operations:
        kind, parts = op.get("op"), _pointer(op.get("path", ""))
        if kind == "add":
            doc = _add(doc, parts, copy.deepcopy(op["value"]))
        elif kind == "remove":
            _remove(doc, parts)
        elif kind == "replace":
            _get(doc, parts)
            if parts:
                _remove(doc, parts)
            doc = _add(doc, parts, copy.deepcopy(op["value"]))
        elif kind in ("move", "copy"):
            source = _pointer(op["from"])
            value = _remove(doc, source) if kind == "move" else copy.deepcopy(_get(doc, source))
            doc = _add(doc, parts, value)
        elif kind == "test":
            if _get(doc, parts) != op["value"]:
                raise PatchError(f"test failed at {op['path']}")
        else:
            raise PatchError(f"unknown JSON patch operation: {kind!r}")
    return doc


def apply_patch(content_type: str, target: Any, patch: Any) -> Any:
    kind = content_type.split(";")[0].strip()
    if kind == "application/merge-patch+json":
        return merge_patch(target, patch)
    if kind == "application/strategic-merge-patch+json":
        return strategic_merge_patch(target, patch)
    if kind == "application/json-patch+json":
        return json_patch(target, patch)
    raise UnsupportedPatchError(f"unsupported patch type: {kind}")
