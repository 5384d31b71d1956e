"""The kubelet's DevicePlugin service for one extended resource, served on a unix socket.

One `DevicePluginService` serves one resource (nvidia.com/gpu, nvidia.com/gpu.shared,
nvidia.com/mig-1g.10gb, ...), as the NVIDIA plugin runs one server per resource. Its devices
never change while it runs; their health does, and ListAndWatch sends the full list again
whenever the health of one of its devices changes (the kubelet replaces its view with each
list it receives). The answers come from `gpuplane.node.allocate`; a request the plugin
cannot serve is answered INVALID_ARGUMENT, never with a crash.
"""

from __future__ import annotations

import logging
import threading
import uuid as uuidlib
from collections.abc import Iterator, Mapping
from concurrent import futures
from pathlib import Path
from typing import NoReturn

import grpc

from gpuplane.node.allocate import (
    AllocateOptions,
    AllocationError,
    ContainerAllocation,
    allocate,
    fraction_envs,
    preferred_allocation,
)
from gpuplane.node.assigned import AssignedDevices
from gpuplane.node.devices import PluginDevice
from gpuplane.node.kubelet_api import HEALTHY, UNHEALTHY
from gpuplane.node.logs import get_logger, log_event
from gpuplane.node.proto import api_pb2 as api
from gpuplane.node.proto import api_pb2_grpc as api_grpc
from gpuplane.sharing import NodeSharing

#: How often a ListAndWatch stream checks that its kubelet is still there.
_STREAM_CHECK = 0.5
#: ListAndWatch streams served at once per resource. The kubelet keeps one; a restarted kubelet
#: opens a new one before the old is noticed gone. A stream past this ends the oldest, so that
#: streams never hold the workers the kubelet's Allocate calls need.
MAX_STREAMS = 4
#: Workers left for the unary calls (options, preferred allocation, Allocate) at all times.
UNARY_WORKERS = 8

log = get_logger()


class HealthBoard:
    """The unhealthy GPU and MIG UUIDs, shared by all plugins; waiters wake on every change."""

    def __init__(self, parents: Mapping[str, str]) -> None:
        self._parents = dict(parents)
        self._unhealthy: frozenset[str] = frozenset()
        self._version = 0
        self._changed = threading.Condition()

    def publish(self, unhealthy: frozenset[str]) -> None:
        with self._changed:
            if unhealthy != self._unhealthy:
                self._unhealthy = unhealthy
                self._version += 1
                self._changed.notify_all()

    def wake(self) -> None:
        """Wake every waiter, so that streams notice a shutdown at once."""
        with self._changed:
            self._version += 1
            self._changed.notify_all()

    @property
    def version(self) -> int:
        with self._changed:
            return self._version

    def wait(self, version: int, timeout: float) -> int:
        """Wait until the board moves past `version` or `timeout` passes; the version now."""
        with self._changed:
            self._changed.wait_for(lambda: self._version != version, timeout)
            return self._version

    def healthy(self, uuid: str) -> bool:
        bad = self._unhealthy
        return uuid not in bad and self._parents.get(uuid) not in bad


class DevicePluginService(api_grpc.DevicePluginServicer):
    """The DevicePlugin gRPC service of one resource."""

    def __init__(
        self,
        resource: str,
        devices: list[PluginDevice],
        sharing: NodeSharing,
        board: HealthBoard,
        options: AllocateOptions,
        stopping: threading.Event,
        assigned: AssignedDevices | None = None,
    ) -> None:
        self.resource = resource
        self.devices = devices
        self._by_id = {d.id: d for d in devices}
        self._sharing = sharing
        self._board = board
        self._options = options
        self._stopping = stopping
        #: With API access: the scheduler's device choices; None answers as the NVIDIA plugin.
        self._assigned = assigned
        self._streams = _Streams(MAX_STREAMS)

    def device_list(self) -> api.ListAndWatchResponse:
        """Every device of the resource with its health and NUMA node."""
        out = []
        for d in self.devices:
            topology = None
            if d.numa_node is not None:
                topology = api.TopologyInfo(nodes=[api.NUMANode(ID=d.numa_node)])
            health = HEALTHY if self._board.healthy(d.uuid) else UNHEALTHY
            out.append(api.Device(ID=d.id, health=health, topology=topology))
        return api.ListAndWatchResponse(devices=out)

    # ------------------------------------------------------------------ the API

    def GetDevicePluginOptions(
        self, request: api.Empty, context: grpc.ServicerContext
    ) -> api.DevicePluginOptions:
        return api.DevicePluginOptions(
            pre_start_required=False, get_preferred_allocation_available=True
        )

    def ListAndWatch(
        self, request: api.Empty, context: grpc.ServicerContext
    ) -> Iterator[api.ListAndWatchResponse]:
        ended, evicted = self._streams.open()
        if evicted:
            self._board.wake()  # the oldest stream notices at once, not at its next check
        try:
            yield from self._list_and_watch(context, ended)
        finally:
            self._streams.close(ended)

    def _list_and_watch(
        self, context: grpc.ServicerContext, ended: threading.Event
    ) -> Iterator[api.ListAndWatchResponse]:
        version = self._board.version
        last = self.device_list()
        log_event(
            log,
            logging.INFO,
            "ListAndWatch opened",
            resource=self.resource,
            devices=len(self.devices),
        )
        yield last
        while not self._stopping.is_set() and not ended.is_set() and context.is_active():
            new = self._board.wait(version, _STREAM_CHECK)
            if new == version:
                continue
            version = new
            current = self.device_list()
            # Health changes elsewhere on the node wake every stream; send only our own.
            if current != last:
                last = current
                unhealthy = [d.ID for d in current.devices if d.health == UNHEALTHY]
                log_event(
                    log,
                    logging.INFO,
                    "device list sent",
                    resource=self.resource,
                    unhealthy=unhealthy,
                )
                yield current
        reason = "a newer stream took its place" if ended.is_set() else "closed"
        log_event(log, logging.INFO, "ListAndWatch closed", resource=self.resource, why=reason)

    def GetPreferredAllocation(
        self, request: api.PreferredAllocationRequest, context: grpc.ServicerContext
    ) -> api.PreferredAllocationResponse:
        responses = []
        for req in request.container_requests:
            available, must = list(req.available_deviceIDs), list(req.must_include_deviceIDs)
            try:
                ids = None
                if self._assigned is not None:
                    ids = self._assigned.preferred(
                        self.resource, available, must, req.allocation_size
                    )
                if ids is None:
                    ids = preferred_allocation(available, must, req.allocation_size, self.devices)
            except AllocationError as exc:
                self._refuse(context, "GetPreferredAllocation", exc)
            responses.append(api.ContainerPreferredAllocationResponse(deviceIDs=ids))
        return api.PreferredAllocationResponse(container_responses=responses)

    def Allocate(
        self, request: api.AllocateRequest, context: grpc.ServicerContext
    ) -> api.AllocateResponse:
        responses = []
        for req in request.container_requests:
            ids = list(req.devices_ids)
            claim = None
            try:
                if self._assigned is not None:
                    claim = self._assigned.claim(self.resource, ids, self._healthy)
                given = allocate(
                    ids, self._by_id, self._sharing, self._options, str(uuidlib.uuid4())
                )
            except AllocationError as exc:
                self._refuse(context, "Allocate", exc)
            fields: dict[str, object] = {"resource": self.resource, "devices": ids}
            if claim is not None and self._assigned is not None:
                fields["pod"] = claim.share.pod_name
                if claim.share.fraction:
                    given.envs.update(fraction_envs(claim.share.fraction))
                self._assigned.commit(claim)
            log_event(log, logging.INFO, "allocated", **fields)
            responses.append(_response(given))
        return api.AllocateResponse(container_responses=responses)

    def _healthy(self, device_id: str) -> bool:
        device = self._by_id.get(device_id)
        return device is not None and self._board.healthy(device.uuid)

    def PreStartContainer(
        self, request: api.PreStartContainerRequest, context: grpc.ServicerContext
    ) -> api.PreStartContainerResponse:
        # Registration says pre_start_required=False; a kubelet calling anyway gets a no-op.
        return api.PreStartContainerResponse()

    def _refuse(self, context: grpc.ServicerContext, call: str, exc: Exception) -> NoReturn:
        log_event(log, logging.WARNING, f"{call} refused", resource=self.resource, error=str(exc))
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"{self.resource}: {exc}")


def _response(given: ContainerAllocation) -> api.ContainerAllocateResponse:
    return api.ContainerAllocateResponse(
        envs=given.envs,
        mounts=[
            api.Mount(container_path=m.container_path, host_path=m.host_path, read_only=m.read_only)
            for m in given.mounts
        ],
        annotations=given.annotations,
        cdi_devices=[api.CDIDevice(name=name) for name in given.cdi_devices],
    )


def socket_name(resource: str, prefix: str = "gpuplane") -> str:
    """The plugin's socket file name: nvidia.com/mig-1g.10gb -> gpuplane-mig-1g.10gb.sock."""
    return f"{prefix}-{resource.split('/', 1)[-1]}.sock"


class PluginServer:
    """A gRPC server for one DevicePluginService on a unix socket; restartable."""

    def __init__(self, service: DevicePluginService, socket: Path) -> None:
        self.service = service
        self.socket = socket
        self._server: grpc.Server | None = None

    def start(self) -> None:
        """Serve on the socket, replacing a stale socket file left by an earlier run."""
        # A restart serves a new kubelet: streams to the old one need no grace period.
        self.stop(grace=0.0)
        self.socket.unlink(missing_ok=True)
        # Each open ListAndWatch stream holds a worker until it ends: MAX_STREAMS of them, plus
        # the one that ends the oldest, leave UNARY_WORKERS for everything else.
        workers = MAX_STREAMS + 1 + UNARY_WORKERS
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=workers))
        api_grpc.add_DevicePluginServicer_to_server(self.service, server)
        server.add_insecure_port(f"unix://{self.socket}")
        server.start()
        self._server = server

    def stop(self, grace: float = 0.5) -> None:
        """Stop serving and remove the socket."""
        if self._server is not None:
            self._server.stop(grace).wait(grace + 1.0)
            self._server = None
            self.socket.unlink(missing_ok=True)

    @property
    def serving(self) -> bool:
        """Whether the server runs and its socket file is still there."""
        return self._server is not None and self.socket.exists()


class _Streams:
    """The open ListAndWatch streams, oldest first; opening one past the limit ends the oldest."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._open: list[threading.Event] = []
        self._lock = threading.Lock()

    def open(self) -> tuple[threading.Event, bool]:
        """A new stream's end signal, and whether an older stream was told to end for it."""
        ended = threading.Event()
        with self._lock:
            self._open.append(ended)
            evicted = self._open[: max(0, len(self._open) - self._limit)]
            for oldest in evicted:
                oldest.set()
        return ended, bool(evicted)

    def close(self, ended: threading.Event) -> None:
        with self._lock:
            if ended in self._open:
                self._open.remove(ended)
