"""Connecting to the API server: in-cluster or kubeconfig configuration, and its error replies."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import httpx2
from lightkube import AsyncClient
from lightkube.config.client_adapter import AsyncClient as adapter_async_client
from lightkube.config.client_adapter import ConnectionParams
from lightkube.config.kubeconfig import KubeConfig, SingleConfig
from lightkube.core.exceptions import ConfigError

from gpuplane.errors import InputError, Location

DEFAULT_TIMEOUT_S = 10.0


def load_config(kubeconfig: Path | None = None, context: str | None = None) -> SingleConfig:
    """The cluster: an explicit kubeconfig, else in-cluster, else $KUBECONFIG or ~/.kube/config."""
    try:
        if kubeconfig is not None:
            config = KubeConfig.from_file(kubeconfig)
        elif "KUBERNETES_SERVICE_HOST" in os.environ and context is None:
            config = KubeConfig.from_service_account()
        else:
            config = KubeConfig.from_file(os.environ.get("KUBECONFIG", "~/.kube/config"))
        single = config.get(context_name=context)
    except ConfigError as err:
        where = Location(file=str(kubeconfig)) if kubeconfig is not None else None
        hint = "pass --kubeconfig FILE (and --context NAME), or run in a pod with a service account"
        raise InputError(str(err), where=where, hint=hint) from err
    if single is None:  # only when a default is passed to get(); kept for the type checker
        raise InputError("no Kubernetes context selected")
    return single


@dataclass
class Kube:
    """One connection to the API server, as the typed lightkube client and a raw HTTP client.

    The raw client (same server, credentials and TLS settings, built by lightkube) serves what the
    typed one cannot: watches with bookmarks decoded as plain dicts, and the binding subresource,
    whose reply (a Status) lightkube's generated client cannot parse.
    """

    typed: AsyncClient
    http: httpx2.AsyncClient

    @classmethod
    def connect(cls, config: SingleConfig, timeout_s: float = DEFAULT_TIMEOUT_S) -> Kube:
        timeout = httpx2.Timeout(timeout_s)
        typed = AsyncClient(config=config, timeout=timeout)
        http = adapter_async_client(config, ConnectionParams(timeout=timeout))
        return cls(typed=typed, http=http)

    async def aclose(self) -> None:
        await self.typed.close()
        await self.http.aclose()


class ApiStatusError(Exception):
    """A non-success reply from the API server, with its Status reason and Retry-After."""

    def __init__(
        self, code: int, reason: str, message: str, retry_after: float | None = None
    ) -> None:
        super().__init__(f"{code} {reason}: {message}")
        self.code = code
        self.reason = reason
        self.message = message
        self.retry_after = retry_after

    @classmethod
    def from_reply(cls, code: int, headers: httpx2.Headers, body: bytes) -> ApiStatusError:
        reason, message = "", body.decode(errors="replace")[:500]
        try:
            status = json.loads(body)
        except ValueError:
            status = None
        if isinstance(status, dict):
            reason = str(status.get("reason") or "")
            message = str(status.get("message") or "")
        return cls(code, reason, message, retry_after_s(headers.get("Retry-After")))


def retry_after_s(value: str | None) -> float | None:
    """Seconds from a Retry-After header (the API server sends an integer; dates are not used)."""
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def api_path(
    group: str, version: str, plural: str, namespace: str | None = None, name: str | None = None
) -> str:
    """The REST path of a collection or object: /api/v1/... (core group) or /apis/<group>/..."""
    parts = ["api", version] if not group else ["apis", group, version]
    if namespace is not None:
        parts += ["namespaces", namespace]
    parts.append(plural)
    if name is not None:
        parts.append(name)
    return "/" + "/".join(parts)
