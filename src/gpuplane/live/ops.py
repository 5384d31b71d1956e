"""The operations endpoint: /metrics, /healthz, /livez and /readyz on one small HTTP server.

It runs on the scheduler's event loop (asyncio), so a scrape reads the scheduler's state between
two of its steps, never in the middle of one, and needs no lock. Checks are plain callables that
answer None (or True) when fine, and a reason (or False) otherwise:
* /livez: the process answers (200 "ok"); a kubelet restarts the pod when it stops answering.
* /healthz: liveness plus the checks given (e.g. the elector's watchdog, `LeaderElector.check`),
  500 naming the failed check, as kube-scheduler's healthz does with its leader-election check.
* /readyz: 200 once `ready` says so (caches synced), else 503 with its reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from http import HTTPStatus

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

log = logging.getLogger(__name__)

Check = Callable[[], bool | str | None]
_TEXT = "text/plain; charset=utf-8"
_READ_TIMEOUT_S = 5.0


def parse_address(text: str) -> tuple[str, int]:
    """`host:port`, `:port` (every interface) or `[v6]:port`, as --metrics-address takes it."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"expected HOST:PORT (or :PORT), got {text!r}")
    host = host.strip("[]") or "0.0.0.0"
    return host, int(port)


class OpsServer:
    """Serves the registry and the probes on host:port (port 0: any free one, see `port`)."""

    def __init__(
        self,
        registry: CollectorRegistry,
        ready: Check,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        health_checks: Mapping[str, Check] | None = None,
    ) -> None:
        self.registry = registry
        self.ready = ready
        self.host = host
        self.requested_port = port
        self.health_checks = dict(health_checks or {})
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the ops server is not started")
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.requested_port)
        log.info("serving /metrics, /healthz, /livez and /readyz on %s:%d", self.host, self.port)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> OpsServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def answer(self, method: str, target: str) -> tuple[HTTPStatus, str, bytes]:
        """Status, content type and body for one request."""
        if method not in ("GET", "HEAD"):
            return HTTPStatus.METHOD_NOT_ALLOWED, _TEXT, b"only GET and HEAD\n"
        path = target.split("?", 1)[0]
        if path == "/metrics":
            # generate_latest writes the 0.0.4 text format; say so, as kube-scheduler does.
            return HTTPStatus.OK, CONTENT_TYPE_PLAIN_0_0_4, generate_latest(self.registry)
        if path == "/livez":
            return HTTPStatus.OK, _TEXT, b"ok"
        if path == "/healthz":
            for name, check in sorted(self.health_checks.items()):
                reason = _run(check)
                if reason is not None:
                    body = f"[-]{name} failed: {reason}\nhealthz check failed\n"
                    return HTTPStatus.INTERNAL_SERVER_ERROR, _TEXT, body.encode()
            return HTTPStatus.OK, _TEXT, b"ok"
        if path == "/readyz":
            reason = _run(self.ready)
            if reason is not None:
                return HTTPStatus.SERVICE_UNAVAILABLE, _TEXT, f"not ready: {reason}\n".encode()
            return HTTPStatus.OK, _TEXT, b"ok"
        return HTTPStatus.NOT_FOUND, _TEXT, b"not found: try /metrics, /healthz, /livez, /readyz\n"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(_READ_TIMEOUT_S):
                request = await reader.readline()
                await _skip_headers(reader)
            parts = request.decode("latin-1").split()
            if len(parts) != 3:
                status, kind, body = HTTPStatus.BAD_REQUEST, _TEXT, b"bad request\n"
                method = "GET"
            else:
                method, target, _ = parts
                status, kind, body = self.answer(method, target)
            head = (
                f"HTTP/1.1 {status.value} {status.phrase}\r\n"
                f"Content-Type: {kind}\r\nContent-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n"
            )
            writer.write(head.encode("latin-1") + (b"" if method == "HEAD" else body))
            await writer.drain()
        except (TimeoutError, ConnectionError) as err:
            log.debug("ops request dropped: %s", err)
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


def _run(check: Check) -> str | None:
    """None when the check passes, else why not; one that raises fails with its error."""
    try:
        answer = check()
    except Exception as err:
        return f"{type(err).__name__}: {err}"
    if answer is None or answer is True:
        return None
    return "check failed" if answer is False else answer


async def _skip_headers(reader: asyncio.StreamReader) -> None:
    """Read the request's headers up to the blank line: no answer here depends on them."""
    line = await reader.readline()
    while line not in (b"\r\n", b"\n", b""):
        line = await reader.readline()
