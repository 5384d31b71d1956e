"""The fake's storage: objects per kind, one global resourceVersion counter, a watch history."""

from __future__ import annotations

import bisect
import copy
import random
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .resources import ResourceType

Obj = dict[str, Any]
Key = tuple[str, str, str]  # (resource key, namespace or "", name)


def json_copy(value: Any) -> Any:
    """A deep copy of decoded JSON (dicts, lists, scalars): copy.deepcopy's result, without its
    memo and dispatch that cost the fake most of a write's time; anything else is deepcopied."""
    if isinstance(value, dict):
        return {k: json_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_copy(v) for v in value]
    if value is None or isinstance(value, str | int | float):
        return value
    return copy.deepcopy(value)


class ApiError(Exception):
    """An error the server answers with a Status object."""

    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message


def not_found(resource: ResourceType, name: str) -> ApiError:
    return ApiError(404, "NotFound", f'{resource.plural} "{name}" not found')


def conflict(resource: ResourceType, name: str, why: str) -> ApiError:
    return ApiError(
        409, "Conflict", f'Operation cannot be fulfilled on {resource.plural} "{name}": {why}'
    )


@dataclass(frozen=True)
class Change:
    """A watch history entry: the object before (None: created) and after (None: deleted)."""

    rv: int
    resource: str
    old: Obj | None
    new: Obj | None


@dataclass
class Store:
    seed: int = 0
    rv: int = 1
    # Watching from a version below this one answers 410 Gone (its history was compacted).
    compacted_rv: int = 1
    # Bumped by a restart: every open watch sees it and drops its connection.
    epoch: int = 0
    # Open watches, for tests that must act only once their watchers are in place.
    watchers: int = 0
    objects: dict[Key, Obj] = field(default_factory=dict)
    history: list[Change] = field(default_factory=list)
    cond: threading.Condition = field(default_factory=threading.Condition)
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def _key(self, resource: ResourceType, namespace: str | None, name: str) -> Key:
        return (resource.key, (namespace or "") if resource.namespaced else "", name)

    def _commit(self, resource: ResourceType, key: Key, old: Obj | None, new: Obj | None) -> Obj:
        """Store a change under the next resourceVersion; callers hold the lock."""
        self.rv += 1
        stored = json_copy(new if new is not None else old)
        assert stored is not None
        stored["metadata"]["resourceVersion"] = str(self.rv)
        if new is None:
            # A delete's watch event carries the last state at the deletion's version.
            self.objects.pop(key, None)
            self.history.append(Change(self.rv, resource.key, stored, None))
        else:
            self.objects[key] = stored
            self.history.append(Change(self.rv, resource.key, old, stored))
        self.cond.notify_all()
        return json_copy(stored)

    def get(self, resource: ResourceType, namespace: str | None, name: str) -> Obj:
        with self.cond:
            obj = self.objects.get(self._key(resource, namespace, name))
            if obj is None:
                raise not_found(resource, name)
            return json_copy(obj)

    def select(
        self, resource: ResourceType, namespace: str | None, match: Callable[[Obj], bool]
    ) -> tuple[list[Obj], int]:
        with self.cond:
            items = [
                json_copy(obj)
                for (kind, ns, _), obj in sorted(self.objects.items())
                if kind == resource.key and (namespace is None or ns == namespace) and match(obj)
            ]
            return items, self.rv

    def create(self, resource: ResourceType, namespace: str | None, obj: Obj) -> Obj:
        with self.cond:
            meta = obj.setdefault("metadata", {})
            if not meta.get("name") and meta.get("generateName"):
                suffix = "".join(self.rng.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(5))
                meta["name"] = meta["generateName"] + suffix
            if not meta.get("name"):
                raise ApiError(
                    422,
                    "Invalid",
                    "metadata.name: Required value: name or generateName is required",
                )
            if resource.namespaced:
                if self.objects.get(("/v1/namespaces", "", namespace or "")) is None:
                    raise ApiError(404, "NotFound", f'namespaces "{namespace}" not found')
                meta["namespace"] = namespace
            key = self._key(resource, namespace, meta["name"])
            if key in self.objects:
                raise ApiError(
                    409, "AlreadyExists", f'{resource.plural} "{meta["name"]}" already exists'
                )
            meta["uid"] = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
            meta["creationTimestamp"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            meta.pop("resourceVersion", None)
            return self._commit(resource, key, None, obj)

    def update(
        self,
        resource: ResourceType,
        namespace: str | None,
        name: str,
        change: Callable[[Obj], Obj],
        check: Callable[[Obj], None] = lambda _: None,
    ) -> Obj:
        """Replace an object with change(current copy), refusing a stale resourceVersion with 409.

        check(new) runs before the commit (schema validation); it raises to refuse.
        """
        with self.cond:
            key = self._key(resource, namespace, name)
            current = self.objects.get(key)
            if current is None:
                raise not_found(resource, name)
            new = change(json_copy(current))
            meta = new.setdefault("metadata", {})
            sent_rv = meta.get("resourceVersion")
            if sent_rv and sent_rv != current["metadata"]["resourceVersion"]:
                raise conflict(
                    resource,
                    name,
                    "the object has been modified; please apply your changes to the latest version"
                    " and try again",
                )
            if meta.get("name", name) != name:
                raise ApiError(
                    400, "BadRequest", "the name of the object does not match the name on the URL"
                )
            # What the server owns cannot be changed by a client.
            for owned in ("name", "namespace", "uid", "creationTimestamp"):
                if owned in current["metadata"]:
                    meta[owned] = current["metadata"][owned]
            check(new)
            if new == current:
                return json_copy(
                    current
                )  # a no-op write keeps its version, as on a real server
            return self._commit(resource, key, current, new)

    def delete(self, resource: ResourceType, namespace: str | None, name: str) -> Obj:
        with self.cond:
            key = self._key(resource, namespace, name)
            current = self.objects.get(key)
            if current is None:
                raise not_found(resource, name)
            return self._commit(resource, key, current, None)

    def compact(self) -> None:
        """Forget the history: a watch from any version before now answers 410 Gone."""
        with self.cond:
            self.history.clear()
            self.compacted_rv = self.rv

    def restart(self, compact: bool) -> None:
        with self.cond:
            self.epoch += 1
            if compact:
                self.history.clear()
                self.compacted_rv = self.rv
            self.cond.notify_all()

    def changes_after(self, rv: int, resource: ResourceType) -> list[Change]:
        """History entries after rv for one kind; callers hold the lock."""
        start = bisect.bisect_right(self.history, rv, key=lambda change: change.rv)
        return [c for c in self.history[start:] if c.resource == resource.key]
