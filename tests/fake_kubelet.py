"""A fake kubelet that speaks the real Device Plugin API v1beta1 over unix sockets.

It serves Registration on <dir>/kubelet.sock like the kubelet's device manager: on Register
it checks the version, dials the plugin back on <dir>/<endpoint>, asks for its options and
opens ListAndWatch, keeping every list it receives. Tests then call Allocate and
GetPreferredAllocation as the kubelet would. `restart()` does what a kubelet restart does to
the directory: the old kubelet.sock and every plugin socket disappear, a new kubelet.sock
appears, and all registrations are forgotten.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from gpuplane.node.proto import api_pb2 as api
from gpuplane.node.proto import api_pb2_grpc as api_grpc

DeviceList = dict[str, str]  # device ID -> health


@dataclass
class PluginConnection:
    """The kubelet's side of one registered plugin."""

    resource: str
    endpoint: str
    channel: grpc.Channel
    stub: api_grpc.DevicePluginStub
    options: api.DevicePluginOptions
    lists: list[DeviceList] = field(default_factory=list)
    numa: dict[str, list[int]] = field(default_factory=dict)
    changed: threading.Condition = field(default_factory=threading.Condition)
    stream_error: grpc.RpcError | None = None

    def wait_for(self, predicate: Callable[[DeviceList], bool], timeout: float = 5.0) -> DeviceList:
        """The first received list (oldest first) for which `predicate` holds."""
        deadline = time.monotonic() + timeout
        seen = 0
        with self.changed:
            while True:
                for devices in self.lists[seen:]:
                    if predicate(devices):
                        return devices
                seen = len(self.lists)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"{self.resource}: no matching device list in {timeout}s; got {self.lists}"
                    )
                self.changed.wait(left)

    @property
    def latest(self) -> DeviceList:
        with self.changed:
            return dict(self.lists[-1]) if self.lists else {}

    def allocate(self, *containers: list[str]) -> api.AllocateResponse:
        request = api.AllocateRequest(
            container_requests=[api.ContainerAllocateRequest(devices_ids=ids) for ids in containers]
        )
        return self.stub.Allocate(request, timeout=5)

    def preferred(
        self, available: list[str], size: int, must: list[str] | None = None
    ) -> list[str]:
        request = api.PreferredAllocationRequest(
            container_requests=[
                api.ContainerPreferredAllocationRequest(
                    available_deviceIDs=available,
                    must_include_deviceIDs=must or [],
                    allocation_size=size,
                )
            ]
        )
        response = self.stub.GetPreferredAllocation(request, timeout=5)
        return list(response.container_responses[0].deviceIDs)


class FakeKubelet(api_grpc.RegistrationServicer):
    """The kubelet's device manager, reduced to what a device plugin talks to."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.socket = directory / "kubelet.sock"
        self.requests: queue.Queue[api.RegisterRequest] = queue.Queue()
        self.plugins: dict[str, PluginConnection] = {}
        self._plugins_changed = threading.Condition()
        self._server: grpc.Server | None = None

    # ------------------------------------------------------------- lifecycle

    def start(self) -> FakeKubelet:
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        api_grpc.add_RegistrationServicer_to_server(self, server)
        server.add_insecure_port(f"unix://{self.socket}")
        server.start()
        self._server = server
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop(0).wait(2)
            self._server = None
        for plugin in self.plugins.values():
            plugin.channel.close()
        self.socket.unlink(missing_ok=True)

    def restart(self) -> None:
        """Stop, wipe the directory's sockets as a restarting kubelet does, and start again."""
        self.stop()
        with self._plugins_changed:
            self.plugins = {}
        for path in self.directory.glob("*.sock"):
            path.unlink()
        while not self.requests.empty():
            self.requests.get_nowait()
        self.start()

    # --------------------------------------------------------- Registration

    def Register(self, request: api.RegisterRequest, context: grpc.ServicerContext) -> api.Empty:
        if request.version != "v1beta1":
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"unsupported {request.version}")
        channel = grpc.insecure_channel(f"unix://{self.directory / request.endpoint}")
        stub = api_grpc.DevicePluginStub(channel)
        options = stub.GetDevicePluginOptions(api.Empty(), timeout=5)
        plugin = PluginConnection(request.resource_name, request.endpoint, channel, stub, options)
        stream = stub.ListAndWatch(api.Empty())
        threading.Thread(target=self._watch, args=(plugin, stream), daemon=True).start()
        with self._plugins_changed:
            self.plugins[request.resource_name] = plugin
            self._plugins_changed.notify_all()
        self.requests.put(request)
        return api.Empty()

    def _watch(self, plugin: PluginConnection, stream: grpc.Future) -> None:
        try:
            for response in stream:
                devices = {d.ID: d.health for d in response.devices}
                with plugin.changed:
                    plugin.lists.append(devices)
                    plugin.numa = {d.ID: [n.ID for n in d.topology.nodes] for d in response.devices}
                    plugin.changed.notify_all()
        except grpc.RpcError as exc:
            plugin.stream_error = exc

    def plugin(self, resource: str, timeout: float = 5.0) -> PluginConnection:
        """The connection to the plugin of `resource`, once it registered and sent a list."""
        deadline = time.monotonic() + timeout
        with self._plugins_changed:
            while resource not in self.plugins:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{resource} did not register; have {list(self.plugins)}")
                self._plugins_changed.wait(left)
            plugin = self.plugins[resource]
        plugin.wait_for(lambda devices: True, timeout)
        return plugin
