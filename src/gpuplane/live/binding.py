"""Binding a pod to a node through the pods/binding subresource, the way kube-scheduler does."""

from __future__ import annotations

import enum
from dataclasses import dataclass

import httpx2

from gpuplane.live.kube import ApiStatusError, api_path


class BindOutcome(enum.Enum):
    BOUND = "bound"
    # 409: the pod is already bound (by us before a restart, or by another scheduler), or its UID
    # changed (deleted and recreated under the same name). Never retry it as it is.
    CONFLICT = "conflict"
    # 404: the pod is gone.
    NOT_FOUND = "not-found"


@dataclass(frozen=True)
class BindResult:
    outcome: BindOutcome
    message: str = ""


async def bind_pod(
    http: httpx2.AsyncClient,
    namespace: str,
    name: str,
    node: str,
    *,
    uid: str | None = None,
    annotations: dict[str, str] | None = None,
) -> BindResult:
    """POST a Binding for the pod; annotations ride on it and land on the pod in the same write.

    Raises ApiStatusError for anything else (429, 5xx, 403, 422): the caller decides to retry.
    """
    metadata: dict[str, object] = {"name": name, "namespace": namespace}
    if uid is not None:
        metadata["uid"] = uid  # a precondition: refuse if the pod was recreated under this name
    if annotations:
        metadata["annotations"] = dict(annotations)
    body = {
        "apiVersion": "v1",
        "kind": "Binding",
        "metadata": metadata,
        "target": {"apiVersion": "v1", "kind": "Node", "name": node},
    }
    # The reply is a Status, not a Binding: read it raw rather than through lightkube's models.
    path = api_path("", "v1", "pods", namespace, name) + "/binding"
    reply = await http.post(path, json=body)
    if reply.status_code in (200, 201):
        return BindResult(BindOutcome.BOUND)
    error = ApiStatusError.from_reply(reply.status_code, reply.headers, reply.content)
    if reply.status_code == 409:
        return BindResult(BindOutcome.CONFLICT, error.message)
    if reply.status_code == 404:
        return BindResult(BindOutcome.NOT_FOUND, error.message)
    raise error
