"""Who sent a request and what it asked for: the audit log and the opt-in RBAC gate of the fake.

Every request is recorded as an `AuditEvent` (the verb as Kubernetes names it, the resource
and subresource, namespace, name, User-Agent, user and the status answered). With RBAC on,
a bearer token authenticates as the user it was issued for (`FakeApiServer.token_for`), the
admin token as system:masters, anything else is 401 Unauthorized; a request its user's Roles
and ClusterRoles do not allow is 403 Forbidden with kube-apiserver's message. With RBAC off
(the default) every request is served as an admin, as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .rbac import Policy, Request, User

ADMIN = User("system:admin", ("system:masters", "system:authenticated"))


@dataclass
class AuditEvent:
    method: str
    verb: str
    api_group: str
    resource: str
    subresource: str
    namespace: str
    name: str
    user_agent: str
    user: str
    code: int = 0


def request_info(method: str, path: str) -> Request:
    """Parse a URL as the apiserver's RequestInfoFactory does (kinds need not be registered)."""
    parts = urlsplit(path)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    segments = [s for s in parts.path.split("/") if s]
    if segments[:1] == ["api"] and len(segments) >= 2:
        group, rest = "", segments[2:]
    elif segments[:1] == ["apis"] and len(segments) >= 3:
        group, rest = segments[1], segments[3:]
    else:
        verb = {"GET": "get", "POST": "post", "PUT": "put", "PATCH": "patch"}.get(method, "delete")
        return Request(verb=verb, resource_request=False, path=parts.path)
    namespace = ""
    if len(rest) >= 2 and rest[0] == "namespaces":
        namespace = rest[1]
        # /namespaces/<ns> is the Namespace object itself; deeper paths are objects in it.
        rest = rest[2:] if len(rest) > 2 else ["namespaces", rest[1]]
    resource = rest[0] if rest else ""
    name = rest[1] if len(rest) > 1 else ""
    subresource = "/".join(rest[2:])
    watching = query.get("watch") in ("true", "1")
    if method == "GET":
        verb = "watch" if watching else ("get" if name else "list")
    elif method == "POST":
        verb = "create"
    elif method == "DELETE":
        verb = "delete" if name else "deletecollection"
    else:
        verb = {"PUT": "update", "PATCH": "patch"}.get(method, method.lower())
    return Request(verb, group, resource, subresource, namespace, name)


class Authorizer:
    """Bearer tokens to users, and the RBAC policy that decides what each may do."""

    def __init__(self, policy: Policy, admin_token: str) -> None:
        self.policy = policy
        self.tokens: dict[str, User] = {admin_token: ADMIN}

    def authenticate(self, header: str | None) -> User | None:
        if not header or not header.startswith("Bearer "):
            return None
        return self.tokens.get(header.removeprefix("Bearer ").strip())

    def allows(self, user: User, request: Request) -> bool:
        return "system:masters" in user.groups or self.policy.allows(user, request)


def forbidden_message(user: User, request: Request) -> str:
    """kube-apiserver's wording for a request RBAC refused."""
    if not request.resource_request:
        return f'forbidden: User "{user.name}" cannot {request.verb} path "{request.path}"'
    resource = request.resource
    if request.subresource:
        resource = f"{resource}/{request.subresource}"
    group_resource = f"{request.resource}.{request.api_group}" if request.api_group else (
        request.resource
    )
    subject = f'{group_resource} "{request.name}"' if request.name else group_resource
    where = (
        f'in the namespace "{request.namespace}"' if request.namespace else "at the cluster scope"
    )
    return (
        f'{subject} is forbidden: User "{user.name}" cannot {request.verb} resource "{resource}" '
        f'in API group "{request.api_group}" {where}'
    )


def forbidden_details(request: Request) -> dict[str, Any]:
    details: dict[str, Any] = {"kind": request.resource}
    if request.name:
        details["name"] = request.name
    if request.api_group:
        details["group"] = request.api_group
    return details
