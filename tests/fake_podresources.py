"""A fake kubelet pod-resources service (v1) over a unix socket, speaking the real gRPC protocol.

Tests set which containers hold which devices with `assign`, and the node's allocatable
devices with `allocatable`; List, Get and GetAllocatableResources answer from that, as the
kubelet's podresources server does. `fail` makes every call answer UNAVAILABLE.
"""

from __future__ import annotations

import threading
from concurrent import futures
from pathlib import Path

import grpc

from gpuplane.telemetry.proto import podresources_pb2 as pb
from gpuplane.telemetry.proto import podresources_pb2_grpc as pb_grpc

# (namespace, pod) -> container -> resource -> device IDs
Pods = dict[tuple[str, str], dict[str, dict[str, list[str]]]]


class FakePodResources(pb_grpc.PodResourcesListerServicer):
    """The kubelet's PodResourcesLister on `socket`."""

    def __init__(self, socket: Path) -> None:
        self.socket = socket
        self.pods: Pods = {}
        self.allocatable_devices: dict[str, list[str]] = {}
        self.fail = False
        self.calls: list[str] = []
        self._lock = threading.Lock()
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        pb_grpc.add_PodResourcesListerServicer_to_server(self, self._server)
        self._server.add_insecure_port(f"unix://{socket}")

    def __enter__(self) -> FakePodResources:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop(grace=None).wait()

    def assign(
        self, namespace: str, pod: str, container: str, resource: str, device_ids: list[str]
    ) -> None:
        with self._lock:
            containers = self.pods.setdefault((namespace, pod), {})
            containers.setdefault(container, {})[resource] = list(device_ids)

    def remove(self, namespace: str, pod: str) -> None:
        with self._lock:
            self.pods.pop((namespace, pod), None)

    def _pod(self, namespace: str, pod: str) -> pb.PodResources:
        containers = [
            pb.ContainerResources(
                name=name,
                devices=[
                    pb.ContainerDevices(resource_name=r, device_ids=ids)
                    for r, ids in resources.items()
                ],
            )
            for name, resources in self.pods[(namespace, pod)].items()
        ]
        return pb.PodResources(name=pod, namespace=namespace, containers=containers)

    def _check(self, method: str, context: grpc.ServicerContext) -> None:
        self.calls.append(method)
        if self.fail:
            context.abort(grpc.StatusCode.UNAVAILABLE, "kubelet is restarting")

    def List(
        self, request: pb.ListPodResourcesRequest, context: grpc.ServicerContext
    ) -> pb.ListPodResourcesResponse:
        self._check("List", context)
        with self._lock:
            pods = [self._pod(ns, name) for ns, name in sorted(self.pods)]
        return pb.ListPodResourcesResponse(pod_resources=pods)

    def Get(
        self, request: pb.GetPodResourcesRequest, context: grpc.ServicerContext
    ) -> pb.GetPodResourcesResponse:
        self._check("Get", context)
        key = (request.pod_namespace, request.pod_name)
        with self._lock:
            if key not in self.pods:
                context.abort(grpc.StatusCode.NOT_FOUND, f"pod {key[1]} in {key[0]} not found")
            return pb.GetPodResourcesResponse(pod_resources=self._pod(*key))

    def GetAllocatableResources(
        self, request: pb.AllocatableResourcesRequest, context: grpc.ServicerContext
    ) -> pb.AllocatableResourcesResponse:
        self._check("GetAllocatableResources", context)
        with self._lock:
            devices = [
                pb.ContainerDevices(resource_name=r, device_ids=ids)
                for r, ids in sorted(self.allocatable_devices.items())
            ]
        return pb.AllocatableResourcesResponse(devices=devices)
