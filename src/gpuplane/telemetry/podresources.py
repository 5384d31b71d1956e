"""Which pod holds which GPU: the kubelet's pod-resources API (v1, gRPC over a unix socket).

`PodResources.holders()` calls List and returns, for every GPU or MIG UUID, the containers
that hold one of its device-plugin devices: the whole device ("GPU-…", "MIG-…") or a
time-slicing/MPS replica ("GPU-…::3", the device plugin's replica IDs). Only resources
under `nvidia.com/` count. `allocatable()` calls GetAllocatableResources.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import grpc

from gpuplane.telemetry.proto import podresources_pb2 as pb
from gpuplane.telemetry.proto import podresources_pb2_grpc as pb_grpc

#: Where a kubelet serves the API.
POD_RESOURCES_SOCKET = "/var/lib/kubelet/pod-resources/kubelet.sock"
GPU_RESOURCE_PREFIX = "nvidia.com/"
_REPLICA = "::"


@dataclass(frozen=True, order=True)
class Holder:
    """One container holding devices of one GPU (or MIG device)."""

    namespace: str
    pod: str
    container: str
    resource: str
    #: The device-plugin device IDs it holds on this GPU.
    device_ids: tuple[str, ...]

    @property
    def shared(self) -> bool:
        """Whether it holds replicas of a time-sliced or MPS GPU rather than the device."""
        return any(_REPLICA in d for d in self.device_ids)


def device_uuid(device_id: str) -> str:
    """The GPU or MIG UUID of a device-plugin device ID ("GPU-x::2" -> "GPU-x")."""
    return device_id.split(_REPLICA, 1)[0]


class PodResourcesError(RuntimeError):
    """The kubelet's pod-resources socket did not answer."""


class PodResources:
    """A client of the kubelet's PodResourcesLister on `socket`."""

    def __init__(self, socket: str | Path = POD_RESOURCES_SOCKET, timeout: float = 2.0) -> None:
        self._target = f"unix://{Path(socket).absolute()}"
        self._timeout = timeout
        self._channel = grpc.insecure_channel(self._target)
        self._stub = pb_grpc.PodResourcesListerStub(self._channel)

    def holders(self) -> dict[str, list[Holder]]:
        """Containers by the GPU/MIG UUID whose devices they hold, in a stable order."""
        try:
            reply = self._stub.List(pb.ListPodResourcesRequest(), timeout=self._timeout)
        except grpc.RpcError as exc:
            raise PodResourcesError(f"pod-resources List failed: {_describe(exc)}") from None
        out: dict[str, list[Holder]] = {}
        for pod in reply.pod_resources:
            for container in pod.containers:
                for devices in container.devices:
                    if not devices.resource_name.startswith(GPU_RESOURCE_PREFIX):
                        continue
                    by_uuid: dict[str, list[str]] = {}
                    for device_id in devices.device_ids:
                        by_uuid.setdefault(device_uuid(device_id), []).append(device_id)
                    for uuid, ids in by_uuid.items():
                        out.setdefault(uuid, []).append(
                            Holder(
                                pod.namespace,
                                pod.name,
                                container.name,
                                devices.resource_name,
                                tuple(sorted(ids)),
                            )
                        )
        return {uuid: sorted(holders) for uuid, holders in out.items()}

    def allocatable(self) -> dict[str, Sequence[str]]:
        """The node's allocatable device IDs by resource name."""
        try:
            reply = self._stub.GetAllocatableResources(
                pb.AllocatableResourcesRequest(), timeout=self._timeout
            )
        except grpc.RpcError as exc:
            raise PodResourcesError(
                f"pod-resources GetAllocatableResources failed: {_describe(exc)}"
            ) from None
        out: dict[str, list[str]] = {}
        for devices in reply.devices:
            out.setdefault(devices.resource_name, []).extend(devices.device_ids)
        return {name: sorted(ids) for name, ids in out.items()}

    def close(self) -> None:
        self._channel.close()


def _describe(exc: grpc.RpcError) -> str:
    code = exc.code() if isinstance(exc, grpc.Call) else None
    details = exc.details() if isinstance(exc, grpc.Call) else str(exc)
    return f"{code.name if code else 'error'}: {details}"
