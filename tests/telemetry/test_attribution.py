"""Pod attribution: the kubelet's pod-resources API (a fake speaking the real gRPC protocol) and
the processes' cgroups, down to per-pod utilisation and memory on shared GPUs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from gpuplane.node import FakeBackend
from gpuplane.node.backend import ProcessSample
from gpuplane.telemetry import GpuExporter, ProcessResolver
from gpuplane.telemetry.podresources import PodResources, PodResourcesError
from gpuplane.telemetry.proto import podresources_pb2 as pb
from gpuplane.telemetry.proto import podresources_pb2_grpc as pb_grpc

from fake_podresources import FakePodResources
from telemetry_helpers import one, parse, run_in_container, select

NODE = """
node: n0
gpus:
  - {model: NVIDIA-A100-SXM4-80GB, count: 2}
  - {model: NVIDIA-A100-SXM4-80GB, mig: all-1g.10gb}
"""


@pytest.fixture
def kubelet(tmp_path: Path) -> Iterator[FakePodResources]:
    with FakePodResources(tmp_path / "kubelet.sock") as fake:
        yield fake


@pytest.fixture
def client(kubelet: FakePodResources) -> Iterator[PodResources]:
    pods = PodResources(kubelet.socket, timeout=2.0)
    yield pods
    pods.close()


def exporter(
    backend: FakeBackend, client: PodResources, tmp_path: Path
) -> tuple[GpuExporter, Path, Path]:
    proc, logs = tmp_path / "proc", tmp_path / "log"
    resolver = ProcessResolver(proc, logs)
    return GpuExporter(backend, hostname="n0", pod_resources=client, resolver=resolver), proc, logs


def test_three_pods_time_slicing_one_gpu_get_their_own_share(
    kubelet: FakePodResources, client: PodResources, tmp_path: Path
) -> None:
    backend = FakeBackend(text=NODE)
    gpu = backend.inventory().gpus[0].uuid
    gpu_exporter, proc, logs = exporter(backend, client, tmp_path)
    loads = {"train": (10, 20_000, 55), "infer": (20, 6_000, 30), "notebook": (30, 1_000, 5)}
    for n, (pod, (pid, _, _)) in enumerate(loads.items(), start=1):
        kubelet.assign("ml", pod, "main", "nvidia.com/gpu", [f"{gpu}::{n}"])
        run_in_container(proc, logs, pid, "ml", pod, "main", n)
    backend.telemetry.run(
        gpu, [ProcessSample(pid, memory, sm_util=util) for pid, memory, util in loads.values()]
    )

    _, samples = parse(gpu_exporter.render())

    device_util = one(samples, "DCGM_FI_DEV_GPU_UTIL", UUID=gpu)
    device_memory = one(samples, "DCGM_FI_DEV_FB_USED", UUID=gpu)
    assert device_util.value == 90 and device_memory.value == 27_000
    # The shared device is exported once, without a pod, so sums over GPUs count it once.
    assert "pod" not in device_util.labels
    util = {s.labels["pod"]: s.value for s in select(samples, "gpuplane_pod_gpu_utilization")}
    memory = {s.labels["pod"]: s.value for s in select(samples, "gpuplane_pod_gpu_memory_used_mib")}
    assert util == {"train": 55, "infer": 30, "notebook": 5}
    assert memory == {"train": 20_000, "infer": 6_000, "notebook": 1_000}
    assert sum(util.values()) == device_util.value
    assert sum(memory.values()) == device_memory.value
    for sample in select(samples, "gpuplane_pod_gpu_utilization"):
        assert sample.labels["namespace"] == "ml" and sample.labels["container"] == "main"
        assert sample.labels["UUID"] == gpu and sample.labels["gpu"] == "0"
    assert {s.value for s in select(samples, "gpuplane_pod_gpu_devices")} == {1}


def test_an_mps_pod_with_two_replicas_and_an_idle_one(
    kubelet: FakePodResources, client: PodResources, tmp_path: Path
) -> None:
    backend = FakeBackend(text=NODE)
    gpu = backend.inventory().gpus[1].uuid
    gpu_exporter, proc, logs = exporter(backend, client, tmp_path)
    kubelet.assign("a", "big", "worker", "nvidia.com/gpu", [f"{gpu}::0", f"{gpu}::1"])
    kubelet.assign("b", "idle", "main", "nvidia.com/gpu", [f"{gpu}::2"])
    run_in_container(proc, logs, 41, "a", "big", "worker", 1)
    run_in_container(proc, logs, 42, "a", "big", "worker", 1)
    run_in_container(proc, logs, 43, "b", "idle", "main", 2)
    # A process of no pod (a host tool) counts for the device but for no pod.
    backend.telemetry.run(
        gpu,
        [ProcessSample(41, 3_000, sm_util=40), ProcessSample(42, 1_000, sm_util=20),
         ProcessSample(99, 500, sm_util=5)],
    )
    _, samples = parse(gpu_exporter.render())
    assert one(samples, "gpuplane_pod_gpu_utilization", pod="big").value == 60
    assert one(samples, "gpuplane_pod_gpu_memory_used_mib", pod="big").value == 4_000
    assert one(samples, "gpuplane_pod_gpu_devices", pod="big").value == 2
    assert one(samples, "gpuplane_pod_gpu_utilization", pod="idle").value == 0
    assert one(samples, "gpuplane_pod_gpu_memory_used_mib", pod="idle").value == 0


def test_a_gpu_of_its_own_labels_dcgm_series_with_the_pod(
    kubelet: FakePodResources, client: PodResources, tmp_path: Path
) -> None:
    backend = FakeBackend(text=NODE)
    gpus = backend.inventory().gpus
    mig = gpus[2].mig_devices[3]
    kubelet.assign("team", "trainer", "main", "nvidia.com/gpu", [gpus[0].uuid])
    kubelet.assign("team", "tiny", "main", "nvidia.com/mig-1g.10gb", [mig.uuid])
    kubelet.assign("team", "cpu-only", "main", "cpu", ["0"])
    backend.telemetry.run(gpus[0].uuid, [ProcessSample(7, 30_000, sm_util=80)])
    backend.telemetry.run(mig.uuid, [ProcessSample(8, 4_000, sm_util=None)])
    gpu_exporter, _, _ = exporter(backend, client, tmp_path)
    _, samples = parse(gpu_exporter.render())

    for name in ("DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_GPU_TEMP", "DCGM_FI_DEV_XID_ERRORS"):
        sample = one(samples, name, UUID=gpus[0].uuid)
        assert (sample.labels["pod"], sample.labels["namespace"]) == ("trainer", "team")
        assert sample.labels["container"] == "main"
    assert one(samples, "gpuplane_pod_gpu_utilization", pod="trainer").value == 80
    assert one(samples, "gpuplane_pod_gpu_memory_used_mib", pod="trainer").value == 30_000
    # A MIG device held by one pod: its series carry the pod and the GPU instance.
    fb = one(samples, "DCGM_FI_DEV_FB_USED", pod="tiny")
    assert (fb.labels["GPU_I_ID"], fb.value) == (str(mig.gpu_instance), 4_000)
    assert one(samples, "gpuplane_pod_gpu_memory_used_mib", pod="tiny").value == 4_000
    assert not select(samples, "gpuplane_pod_gpu_utilization", pod="tiny")
    assert not select(samples, "gpuplane_pod_gpu_devices", pod="cpu-only")
    # The second GPU is nobody's.
    assert "pod" not in one(samples, "DCGM_FI_DEV_GPU_UTIL", UUID=gpus[1].uuid).labels


def test_a_kubelet_that_does_not_answer_leaves_metrics_without_pods(
    kubelet: FakePodResources, client: PodResources, tmp_path: Path
) -> None:
    backend = FakeBackend(text=NODE)
    kubelet.assign("team", "trainer", "main", "nvidia.com/gpu", [backend.inventory().gpus[0].uuid])
    kubelet.fail = True
    gpu_exporter, _, _ = exporter(backend, client, tmp_path)
    _, samples = parse(gpu_exporter.render())
    assert select(samples, "DCGM_FI_DEV_GPU_UTIL")
    assert not [s for s in samples if "pod" in s.labels]
    assert gpu_exporter.attribution_errors == 1
    with pytest.raises(PodResourcesError, match="UNAVAILABLE"):
        client.holders()


def test_allocatable_and_get_over_the_real_protocol(
    kubelet: FakePodResources, client: PodResources
) -> None:
    kubelet.allocatable_devices = {"nvidia.com/gpu": ["GPU-b::1", "GPU-b::0"], "cpu": ["0"]}
    kubelet.assign("ns", "p", "c", "nvidia.com/gpu", ["GPU-b::0"])
    assert client.allocatable() == {"nvidia.com/gpu": ["GPU-b::0", "GPU-b::1"], "cpu": ["0"]}
    holder = client.holders()["GPU-b"][0]
    assert (holder.namespace, holder.pod, holder.container, holder.shared) == ("ns", "p", "c", True)
    with grpc.insecure_channel(f"unix://{kubelet.socket}") as channel:
        stub = pb_grpc.PodResourcesListerStub(channel)
        reply = stub.Get(pb.GetPodResourcesRequest(pod_name="p", pod_namespace="ns"), timeout=2)
        assert reply.pod_resources.containers[0].devices[0].device_ids == ["GPU-b::0"]
        with pytest.raises(grpc.RpcError) as err:
            stub.Get(pb.GetPodResourcesRequest(pod_name="q", pod_namespace="ns"), timeout=2)
        assert err.value.code() == grpc.StatusCode.NOT_FOUND
    assert kubelet.calls == ["GetAllocatableResources", "List", "Get", "Get"]
