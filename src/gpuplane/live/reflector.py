"""A reflector per kind: list, watch from the list's version, relist on 410 Gone, back off.

It keeps the last state it saw of every object and hands its consumer a stream of typed events
in which each change appears once: after a relist it emits only the differences from what it had
delivered (ADDED, MODIFIED, DELETED), so a consumer that applies the events in order holds the
server's state. Sleeping and jitter are injected so that tests are deterministic and fast.
"""

from __future__ import annotations

import asyncio
import enum
import json
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx2

from gpuplane.live.kube import ApiStatusError, api_path

log = logging.getLogger(__name__)

Obj = dict[str, Any]
ObjKey = tuple[str, str]  # (namespace or "", name)


class EventType(enum.Enum):
    ADDED = "ADDED"
    MODIFIED = "MODIFIED"
    DELETED = "DELETED"


@dataclass(frozen=True)
class WatchEvent:
    """One change of one object, with the raw object the API server sent (last state on DELETED)."""

    type: EventType
    obj: Obj

    @property
    def key(self) -> ObjKey:
        return object_key(self.obj)


def object_key(obj: Obj) -> ObjKey:
    meta = obj.get("metadata") or {}
    return (str(meta.get("namespace") or ""), str(meta.get("name") or ""))


@dataclass(frozen=True)
class Kind:
    """What a reflector watches: a kind by group/version/plural, maybe one namespace, selectors."""

    group: str
    version: str
    plural: str
    namespace: str | None = None
    label_selector: str | None = None
    field_selector: str | None = None

    @property
    def path(self) -> str:
        return api_path(self.group, self.version, self.plural, self.namespace)

    def params(self) -> dict[str, str]:
        params: dict[str, str] = {}
        if self.label_selector:
            params["labelSelector"] = self.label_selector
        if self.field_selector:
            params["fieldSelector"] = self.field_selector
        return params


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with jitter: min(cap, base*factor**attempt) * (1 + jitter * U[0, 1))."""

    base_s: float = 0.2
    factor: float = 2.0
    cap_s: float = 30.0
    jitter: float = 0.5

    def delay(self, attempt: int, rng: random.Random, retry_after: float | None = None) -> float:
        # The server's Retry-After is what it asked for: honour it, never wait less.
        wait = min(self.cap_s, self.base_s * self.factor**attempt) * (
            1.0 + self.jitter * rng.random()
        )
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.cap_s))
        return wait


#: How often a kind the API server does not serve (404: a CRD not installed) is looked for.
NOT_SERVED_RECHECK_S = 60.0


class GoneError(Exception):
    """The watch's version was compacted away (410 Gone): only a relist can continue."""


class HandlerError(Exception):
    """The consumer's handler raised: run() stops with this error rather than retrying."""


Handler = Callable[[WatchEvent], Awaitable[None]]
Sleep = Callable[[float], Awaitable[None]]


@dataclass
class Reflector:
    """Keeps `store` equal to the server's objects of one kind and reports each change to `handler`.

    Run it as a task (`asyncio.create_task(reflector.run())`); cancel the task to stop it. It
    retries every API and connection error forever; only a handler that raises (HandlerError)
    ends run().
    """

    http: httpx2.AsyncClient
    kind: Kind
    handler: Handler
    rng: random.Random
    sleep: Sleep = asyncio.sleep
    backoff: Backoff = field(default_factory=Backoff)
    # The server ends a watch after this long; the reflector then watches again from where it was.
    watch_timeout_s: int = 300
    # Lists are paged so that a large cluster does not come back as one huge reply.
    page_size: int = 500
    store: dict[ObjKey, Obj] = field(default_factory=dict)
    synced: asyncio.Event = field(default_factory=asyncio.Event)
    resource_version: str | None = None
    # Counters for logs and tests: lists done, and each delay slept after an error.
    relists: int = 0
    delays: list[float] = field(default_factory=list)
    _healthy: bool = field(default=False, init=False, repr=False)
    _absent: bool = field(default=False, init=False, repr=False)

    @property
    def absent(self) -> bool:
        """True while the API server does not serve the kind (a CRD not installed)."""
        return self._absent

    async def run(self) -> None:
        attempt = 0
        while True:
            self._healthy = False
            try:
                if self.resource_version is None:
                    await self._relist()
                    attempt = 0
                await self._watch()
                continue  # a watch that ended cleanly (server timeout) resumes from where it was
            except GoneError:
                log.info(
                    "%s: resource version %s is gone, relisting",
                    self.kind.plural,
                    self.resource_version,
                )
                self.resource_version = None
                continue
            except ApiStatusError as err:
                if err.code == 404 and self.resource_version is None:
                    # The kind is not served (a CRD not installed): say so once, look again
                    # now and then, and log nothing more until it appears.
                    if not self._absent:
                        log.info(
                            "%s: not served by this API server (is its CRD installed?); "
                            "looking again every %.0f s",
                            self.kind.path,
                            NOT_SERVED_RECHECK_S,
                        )
                    self._absent = True
                    self.delays.append(NOT_SERVED_RECHECK_S)
                    await self.sleep(NOT_SERVED_RECHECK_S)
                    continue
                log.warning("%s: API error %s", self.kind.plural, err)
                retry_after = err.retry_after
            except (httpx2.HTTPError, ValueError) as err:
                # Connection refused or reset, a stream cut mid-chunk, a malformed line.
                log.warning("%s: list or watch failed: %r", self.kind.plural, err)
                retry_after = None
            if self._healthy:
                attempt = 0  # it worked until now: start backing off from the base again
            delay = self.backoff.delay(attempt, self.rng, retry_after)
            attempt += 1
            self.delays.append(delay)
            await self.sleep(delay)

    async def _relist(self) -> None:
        listed: dict[ObjKey, Obj] = {}
        params = self.kind.params() | {"limit": str(self.page_size)}
        while True:
            reply = await self.http.get(self.kind.path, params=params)
            if reply.status_code == 410 and "continue" in params:
                raise GoneError("list continuation expired")  # start the list over
            if reply.status_code != 200:
                raise ApiStatusError.from_reply(reply.status_code, reply.headers, reply.content)
            body = reply.json()
            listed.update((object_key(obj), obj) for obj in body.get("items") or [])
            token = (body.get("metadata") or {}).get("continue")
            if not token:
                break
            params = {"limit": str(self.page_size), "continue": str(token)}
        self.relists += 1
        if self._absent:
            log.info("%s: now served", self.kind.path)
            self._absent = False
        for key, obj in listed.items():
            old = self.store.get(key)
            if old is None:
                await self._apply(EventType.ADDED, obj)
            elif _rv(old) != _rv(obj):
                await self._apply(EventType.MODIFIED, obj)
        for key in [key for key in self.store if key not in listed]:
            await self._apply(EventType.DELETED, self.store[key])
        self.resource_version = str(body["metadata"]["resourceVersion"])
        self.synced.set()

    async def _watch(self) -> None:
        """Watch from resource_version until the server ends the stream."""
        params = self.kind.params() | {
            "watch": "true",
            "allowWatchBookmarks": "true",
            "resourceVersion": self.resource_version or "",
            "timeoutSeconds": str(self.watch_timeout_s),
        }
        timeout = httpx2.Timeout(self.http.timeout.connect, read=None)
        async with self.http.stream("GET", self.kind.path, params=params, timeout=timeout) as reply:
            if reply.status_code == 410:
                raise GoneError(
                    "watch answered 410 Gone"
                )  # some servers reply so, not with an event
            if reply.status_code != 200:
                body = await reply.aread()
                raise ApiStatusError.from_reply(reply.status_code, reply.headers, body)
            async for line in reply.aiter_lines():
                if line.strip():
                    await self._on_line(line)
                    self._healthy = True

    async def _on_line(self, line: str) -> None:
        event = json.loads(line)
        kind, obj = event.get("type"), event.get("object") or {}
        if kind == "ERROR":
            code = int(obj.get("code") or 500)
            if code == 410:
                raise GoneError(obj.get("message", ""))
            raise ApiStatusError(code, str(obj.get("reason") or ""), str(obj.get("message") or ""))
        if kind == "BOOKMARK":
            self.resource_version = _rv(obj)  # nothing changed up to here: resume from it next time
            return
        if kind not in ("ADDED", "MODIFIED", "DELETED"):
            raise ValueError(f"unknown watch event type {kind!r}")
        await self._apply(EventType(kind), obj)
        self.resource_version = _rv(obj)

    async def _apply(self, kind: EventType, obj: Obj) -> None:
        key = object_key(obj)
        old = self.store.get(key)
        if kind is EventType.DELETED:
            if old is None:
                return  # never delivered, so nothing to take back
            del self.store[key]
        else:
            if old is not None and _rv(old) == _rv(obj):
                return  # already delivered at this version
            # ADDED for something known (or MODIFIED for something unknown) follows a missed event.
            kind = EventType.MODIFIED if old is not None else EventType.ADDED
            self.store[key] = obj
        try:
            await self.handler(WatchEvent(kind, obj))
        except Exception as err:
            # Not a connection problem to retry: the consumer missed this event, so stop loudly.
            raise HandlerError(
                f"{self.kind.plural}: the handler failed on {kind.value} {key}"
            ) from err


def _rv(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")
