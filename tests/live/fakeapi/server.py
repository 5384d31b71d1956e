"""The HTTP side of the fake: a threaded HTTP/1.1 server on loopback; watches as chunked JSON."""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .api import Api, Route, status_body
from .auth import ADMIN, AuditEvent, Authorizer, forbidden_details, forbidden_message, request_info
from .faults import Fault, FaultPlan
from .rbac import Policy, User, service_account_user
from .resources import ResourceType
from .store import ApiError, Obj, Store


class FakeApiServer:
    """A fake kube-apiserver: `with FakeApiServer() as api:` serves on 127.0.0.1:<free port>.

    `rbac`: authorize every request with these Roles and bindings (auth.py); None serves every
    request as an admin.
    """

    ADMIN_TOKEN = "admin-token"

    def __init__(
        self, seed: int = 0, bookmark_interval: float = 0.2, rbac: Policy | None = None
    ) -> None:
        self.store = Store(seed=seed)
        self.authorizer = None if rbac is None else Authorizer(rbac, self.ADMIN_TOKEN)
        # Every request served (and refused), in arrival order; see auth.AuditEvent.
        self.audit: list[AuditEvent] = []
        self.api = Api(self.store)
        self.faults = FaultPlan()
        self.bookmark_interval = bookmark_interval
        self.stopped = threading.Event()
        self.requests: list[tuple[str, str]] = []  # (method, path with query), for asserts
        handler = type("Handler", (_Handler,), {"fake": self})
        # Exceptions a handler raised (other than clients going away): a bug in the fake.
        self.errors: list[BaseException] = []
        self._http = _Server(("127.0.0.1", 0), handler)
        self._http.fake = self
        self._http.daemon_threads = True
        # A short poll so that stop() returns quickly (shutdown waits for the serve loop to notice).
        self._thread = threading.Thread(
            target=self._http.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="fake-apiserver",
            daemon=True,
        )

    @property
    def url(self) -> str:
        host, port = self._http.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeApiServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopped.set()
        with self.store.cond:
            self.store.cond.notify_all()
        self._http.shutdown()
        self._http.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeApiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def register_crd(
        self,
        group: str,
        version: str,
        plural: str,
        kind: str,
        *,
        namespaced: bool = True,
        schema: dict[str, Any] | None = None,
        status_subresource: bool = False,
    ) -> ResourceType:
        subs = frozenset({"status"}) if status_subresource else frozenset()
        resource = ResourceType(
            group, version, plural, kind, namespaced, schema=schema, subresources=subs
        )
        self.api.register(resource)
        return resource

    def add_fault(self, fault: Fault) -> Fault:
        return self.faults.add(fault)

    def restart(self, compact: bool = False) -> None:
        """Drop every open watch, as an apiserver restart does; compact also forgets history."""
        self.store.restart(compact)

    def wait_for_watchers(self, count: int, timeout: float = 5.0) -> None:
        """Block until `count` watches are open (and would see a restart), or fail."""
        with self.store.cond:
            if not self.store.cond.wait_for(lambda: self.store.watchers >= count, timeout):
                raise TimeoutError(f"{self.store.watchers} watches open, waited for {count}")

    def compact(self) -> None:
        self.store.compact()

    def objects(
        self, plural: str, group: str = "", version: str = "v1"
    ) -> dict[tuple[str, str], Obj]:
        """The objects of one kind by (namespace, name): the truth tests compare against."""
        resource = self.api.kinds[(group, version, plural)]
        items, _ = self.store.select(resource, None, lambda _: True)
        return {(o["metadata"].get("namespace", ""), o["metadata"]["name"]): o for o in items}

    def token_for(self, user: User) -> str:
        """A bearer token that authenticates as `user` (RBAC mode)."""
        if self.authorizer is None:
            raise RuntimeError("tokens are for a FakeApiServer(rbac=...)")
        token = f"token-{len(self.authorizer.tokens)}-{user.name}"
        self.authorizer.tokens[token] = user
        return token

    def service_account_token(self, namespace: str, name: str) -> str:
        return self.token_for(service_account_user(namespace, name))

    def write_kubeconfig(
        self, path: Path, context: str = "fake", token: str | None = None
    ) -> Path:
        """A kubeconfig for this server; without `token`, the admin's."""
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": context,
            "clusters": [{"name": context, "cluster": {"server": self.url}}],
            "users": [{"name": context, "user": {"token": token or self.ADMIN_TOKEN}}],
            "contexts": [
                {
                    "name": context,
                    "context": {"cluster": context, "user": context, "namespace": "default"},
                }
            ],
        }
        path.write_text(json.dumps(config))
        return path


class _Server(ThreadingHTTPServer):
    fake: FakeApiServer
    # socketserver's default backlog of 5 refuses connections when a client opens a pool of
    # them at once (the scheduler's concurrent binds); a real apiserver does not.
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError) or error is None:
            return  # a client that hung up (a cut watch, a cancelled request)
        self.fake.errors.append(error)
        super().handle_error(request, client_address)


def _verb(method: str, route: Route, query: dict[str, str]) -> str:
    if method == "GET":
        if route.name is not None:
            return "get"
        return "watch" if query.get("watch") in ("true", "1") else "list"
    if method == "POST":
        return {"binding": "bind", "eviction": "evict"}.get(route.subresource or "", "create")
    return {"PUT": "update", "PATCH": "patch", "DELETE": "delete"}.get(method, "unknown")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without TCP_NODELAY, Nagle's algorithm and the
    # client's delayed ACK add ~40 ms to every reply.
    disable_nagle_algorithm = True
    fake: FakeApiServer
    _event: AuditEvent  # this request's audit entry (its code set by the reply)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output quiet

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _reply(self, code: int, body: Obj, headers: dict[str, str] | None = None) -> None:
        self._event.code = code
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _drain(self) -> None:
        """Read a refused request's body, or keep-alive breaks; its content does not matter."""
        with contextlib.suppress(ApiError):
            self._body()

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw) if raw else None
        except json.JSONDecodeError as err:
            raise ApiError(400, "BadRequest", f"invalid JSON: {err}") from err

    def _serve(self, method: str) -> None:
        fake = self.fake
        fake.requests.append((method, self.path))
        info = request_info(method, self.path)
        user = ADMIN
        if fake.authorizer is not None:
            found = fake.authorizer.authenticate(self.headers.get("Authorization"))
            user = found or User("")
        # Logged on arrival, its status set by the reply: a watch is logged while it streams.
        self._event = AuditEvent(
            method,
            info.verb,
            info.api_group,
            info.resource,
            info.subresource,
            info.namespace,
            info.name,
            self.headers.get("User-Agent", ""),
            user.name if fake.authorizer is not None else "",
            code=200,
        )
        fake.audit.append(self._event)
        if fake.authorizer is not None:
            if not user.name:
                self._drain()
                self._reply(401, status_body(401, "Unauthorized", "Unauthorized"))
                return
            if not fake.authorizer.allows(user, info):
                self._drain()
                body = status_body(403, "Forbidden", forbidden_message(user, info))
                body["details"] = forbidden_details(info)
                self._reply(403, body)
                return
        self._serve_authorized(method)

    def _serve_authorized(self, method: str) -> None:
        fake = self.fake
        try:
            parts = urlsplit(self.path)
            query = dict(parse_qsl(parts.query, keep_blank_values=True))
            # Read every body, even one its verb ignores (DELETE options), or keep-alive breaks.
            sent = self._body()
            body = sent if method in ("POST", "PUT", "PATCH") else None
            if "dryRun" in query:
                # Served as a real write it would persist; refuse rather than fake it.
                raise ApiError(400, "BadRequest", "dryRun is not supported by the fake API server")
            route = fake.api.route(parts.path)
            verb = _verb(method, route, query)
            fault = fake.faults.take(verb, route.resource.plural)
            if fault is not None and fault.action == "delay":
                time.sleep(fault.delay)
                fault = None
            if fault is not None and fault.action == "status":
                headers = (
                    {} if fault.retry_after is None else {"Retry-After": str(fault.retry_after)}
                )
                reason = {
                    409: "Conflict",
                    410: "Expired",
                    429: "TooManyRequests",
                    500: "InternalError",
                }.get(fault.code, "")
                self._reply(
                    fault.code, status_body(fault.code, reason, f"injected fault: {verb}"), headers
                )
                return
            if verb == "watch":
                self._watch(route, query, fault)
                return
            if verb != "list" and body is None and method in ("POST", "PUT", "PATCH"):
                raise ApiError(400, "BadRequest", "a request body is required")
            code, reply = self._dispatch(verb, route, query, body)
            self._reply(code, reply)
        except ApiError as err:
            self._reply(err.code, status_body(err.code, err.reason, err.message))

    def _dispatch(
        self, verb: str, route: Route, query: dict[str, str], body: Any
    ) -> tuple[int, Obj]:
        api = self.fake.api
        if verb == "list":
            return 200, api.list(route, query)
        if verb == "get":
            return 200, api.get(route)
        if verb == "create":
            return 201, api.create(route, body)
        if verb == "bind":
            return 201, api.bind(route, body)
        if verb == "evict":
            return 201, api.evict(route, body)
        if verb == "update":
            return 200, api.update(route, body)
        if verb == "patch":
            return 200, api.patch(route, self.headers.get("Content-Type", ""), body)
        if verb == "delete":
            return 200, api.delete(route)
        raise ApiError(405, "MethodNotAllowed", f"{verb} is not supported")

    # --- watch ---------------------------------------------------------------------------------

    def _chunk(self, event: Obj) -> None:
        data = json.dumps(event).encode() + b"\n"
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _cut(self) -> None:
        """Drop the connection mid-stream, without the chunked terminator."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _watch(self, route: Route, query: dict[str, str], fault: Fault | None) -> None:
        from .watch import stream_watch

        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            clean = stream_watch(self.fake, route, query, fault, self._chunk)
        except OSError:
            clean = False  # the client went away
        if clean:
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        else:
            self._cut()
