"""Registering device plugins with the kubelet, and noticing when the kubelet restarts.

The kubelet serves the Registration service on kubelet.sock in its device-plugins directory
(/var/lib/kubelet/device-plugins). A plugin serves its own socket in that directory, then
calls Register with the socket's file name and its resource; the kubelet dials it back.

When the kubelet restarts it wipes the directory's sockets and creates a new kubelet.sock,
and forgets every plugin. `KubeletSocket` tells a restart apart by the socket file's identity
(inode and change time): a new identity means a new kubelet, to which every plugin must
register again, on a fresh socket of its own.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import grpc

from gpuplane.node.kubelet_api import API_VERSION, KUBELET_SOCKET
from gpuplane.node.proto import api_pb2 as api
from gpuplane.node.proto import api_pb2_grpc as api_grpc


class RegistrationError(Exception):
    """The kubelet could not be reached, or refused the plugin."""


def register(kubelet_socket: Path, endpoint: str, resource: str, timeout: float = 5.0) -> None:
    """Register the plugin serving `resource` on `endpoint` (a file name beside the kubelet's)."""
    request = api.RegisterRequest(
        version=API_VERSION,
        endpoint=endpoint,
        resource_name=resource,
        options=api.DevicePluginOptions(get_preferred_allocation_available=True),
    )
    try:
        # wait_for_ready rides out a kubelet still starting; a channel_ready_future would
        # do the same but makes closing the channel wait for its polling thread.
        with grpc.insecure_channel(f"unix://{kubelet_socket}") as channel:
            stub = api_grpc.RegistrationStub(channel)
            stub.Register(request, timeout=timeout, wait_for_ready=True)
    except grpc.RpcError as exc:
        code = exc.code() if isinstance(exc, grpc.Call) else None
        detail = exc.details() if isinstance(exc, grpc.Call) else str(exc)
        raise RegistrationError(f"the kubelet refused {resource}: {code}: {detail}") from None


@dataclass(frozen=True)
class SocketIdentity:
    inode: int
    changed_ns: int


class KubeletSocket:
    """The kubelet's registration socket, watched for restarts."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / KUBELET_SOCKET

    def identity(self) -> SocketIdentity | None:
        """The socket file's identity now, or None while there is none."""
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return SocketIdentity(st.st_ino, st.st_ctime_ns)
