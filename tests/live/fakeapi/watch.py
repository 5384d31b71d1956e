"""One watch stream: events after a resourceVersion, bookmarks, timeouts, and the watch faults."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from .api import Route, status_body
from .faults import Fault
from .store import Change, Obj

if TYPE_CHECKING:
    from .server import FakeApiServer


def _event(change: Change, route: Route, match: Callable[[Obj], bool]) -> Obj | None:
    """The event a watcher with this namespace and selector sees for a change, if any.

    An object that stops matching the selector is DELETED for the watcher, one that starts
    matching is ADDED, as on a real apiserver.
    """

    def visible(obj: Obj | None) -> bool:
        if obj is None:
            return False
        in_namespace = (
            route.namespace is None or obj["metadata"].get("namespace") == route.namespace
        )
        return in_namespace and match(obj)

    before, after = visible(change.old), visible(change.new)
    if after:
        return {"type": "MODIFIED" if before else "ADDED", "object": change.new}
    if before:
        last = change.new if change.new is not None else change.old
        return {"type": "DELETED", "object": last}
    return None


def stream_watch(
    fake: FakeApiServer,
    route: Route,
    query: dict[str, str],
    fault: Fault | None,
    send: Callable[[Obj], None],
) -> bool:
    """Send the watch's events; True when it ends cleanly (timeout), False to cut the connection."""
    counted: list[bool] = []
    try:
        return _stream(fake, route, query, fault, send, counted)
    finally:
        if counted:
            with fake.store.cond:
                fake.store.watchers -= 1


def _stream(
    fake: FakeApiServer,
    route: Route,
    query: dict[str, str],
    fault: Fault | None,
    send: Callable[[Obj], None],
    counted: list[bool],
) -> bool:
    store, api = fake.store, fake.api
    match = api.matcher(route, query)
    bookmarks = query.get("allowWatchBookmarks") in ("true", "1")
    timeout = float(query.get("timeoutSeconds") or 1800)
    deadline = time.monotonic() + timeout
    close_after = fault.after_events if fault is not None and fault.action == "close" else None
    sent = 0
    start = query.get("resourceVersion", "")

    if fault is not None and fault.action == "gone":
        send(
            {
                "type": "ERROR",
                "object": status_body(410, "Expired", "too old resource version: injected fault"),
            }
        )
        return True
    with store.cond:
        epoch = store.epoch
        store.watchers += 1  # counted from here: a restart from now on drops this watch
        counted.append(True)
        store.cond.notify_all()
        if start in ("", "0"):
            # No version: the current state as synthetic ADDED events, then changes from now.
            items, position = store.select(route.resource, route.namespace, match)
            pending: list[Obj] = [{"type": "ADDED", "object": obj} for obj in items]
        else:
            position = int(start)
            if position < store.compacted_rv:
                message = f"too old resource version: {position} ({store.compacted_rv})"
                pending = [{"type": "ERROR", "object": status_body(410, "Expired", message)}]
                position = -1
            else:
                pending = []
    if position < 0:
        send(pending[0])
        return True
    last_sent = time.monotonic()
    while True:
        for event in pending:
            if close_after is not None and sent >= close_after:
                return False
            send(event)
            sent += 1
            last_sent = time.monotonic()
        if close_after is not None and sent >= close_after:
            return False
        now = time.monotonic()
        if now >= deadline:
            return True
        if bookmarks and now - last_sent >= fake.bookmark_interval:
            resource = route.resource
            send(
                {
                    "type": "BOOKMARK",
                    "object": {
                        "kind": resource.kind,
                        "apiVersion": resource.api_version,
                        "metadata": {"resourceVersion": str(position)},
                    },
                }
            )
            last_sent = now
        with store.cond:
            changes = store.changes_after(position, route.resource)
            if not changes:
                store.cond.wait(timeout=min(fake.bookmark_interval, max(deadline - now, 0.0)))
                changes = store.changes_after(position, route.resource)
            if fake.stopped.is_set() or store.epoch != epoch:
                return False
            if position < store.compacted_rv:
                return False  # history compacted under this watch: the client must relist
            pending = [e for e in (_event(c, route, match) for c in changes) if e is not None]
            # Everything of this kind up to the store's version has now been seen.
            position = store.rv
