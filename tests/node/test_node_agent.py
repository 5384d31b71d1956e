"""The node agent against a fake kubelet speaking Device Plugin API v1beta1 over unix sockets."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc
import pytest

from fake_kubelet import FakeKubelet, PluginConnection
from gpuplane.errors import InputError
from gpuplane.node import AgentOptions, FakeBackend, NodeAgent, parse_config
from gpuplane.node.allocate import DeviceListStrategy
from gpuplane.node.backend import BackendError
from gpuplane.node.nvml import NvmlBackend
from gpuplane.node.proto import api_pb2 as api
from node_helpers import A100, FOUR_A100, MIXED, MPS_2, SINGLE, TIME_SLICING_4, mig_inventory

from helpers import run_cli as cli

HEALTHY, UNHEALTHY = "Healthy", "Unhealthy"
#: Two MIG GPUs (mixed) and two whole GPUs. The device plugin ignores `rename` and `devices`,
#: so no config can time-slice one whole GPU and keep the other whole.
MIXED_NODE = f"""
node: mixed
gpus:
  - {{model: {A100}, count: 2, numaNode: 0, mig: all-balanced}}
  - {{model: {A100}, count: 2, numaNode: 1}}
"""
MIXED_CONFIG = """
version: v1
flags: {migStrategy: mixed}
"""


@pytest.fixture
def kubelet_dir() -> Iterator[Path]:
    # Unix socket paths are limited to about 100 bytes: keep the directory name short.
    path = Path(tempfile.mkdtemp(prefix="gpk", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@contextmanager
def running(
    directory: Path,
    inventory: str,
    config: str | None = None,
    **options: object,
) -> Iterator[tuple[NodeAgent, FakeKubelet, FakeBackend]]:
    kubelet = FakeKubelet(directory).start()
    backend = FakeBackend(text=inventory)
    agent = NodeAgent(
        backend,
        parse_config(config) if config else None,
        AgentOptions(kubelet_dir=directory, poll_interval=0.05, **options),  # type: ignore[arg-type]
    )
    try:
        agent.start()
        yield agent, kubelet, backend
    finally:
        agent.stop()
        kubelet.stop()


def healthy(devices: dict[str, str]) -> bool:
    return bool(devices) and all(h == HEALTHY for h in devices.values())


def test_registration_and_first_device_list(kubelet_dir: Path, tmp_path: Path) -> None:
    labels = tmp_path / "features.d" / "gpuplane"
    cdi = tmp_path / "cdi"
    with running(kubelet_dir, FOUR_A100, labels_file=labels, cdi_dir=cdi) as (agent, kubelet, _):
        plugin = kubelet.plugin("nvidia.com/gpu")
        request = kubelet.requests.get(timeout=5)
        assert request.version == "v1beta1"
        assert request.endpoint == "gpuplane-gpu.sock"
        assert request.resource_name == "nvidia.com/gpu"
        assert request.options.get_preferred_allocation_available
        assert plugin.options.get_preferred_allocation_available
        assert not plugin.options.pre_start_required
        gpus = agent.plan.inventory.gpus if agent.plan else ()
        assert plugin.latest == {g.uuid: HEALTHY for g in gpus}
        assert plugin.numa == {g.uuid: [g.numa_node] for g in gpus}
        assert "nvidia.com/gpu.count=4" in labels.read_text().splitlines()
        spec = json.loads((cdi / "gpuplane-nvidia.com-gpu.json").read_text())
        assert {d["name"] for d in spec["devices"]} >= {g.uuid for g in gpus}
        assert (kubelet_dir / "gpuplane-gpu.sock").exists()
    assert not (kubelet_dir / "gpuplane-gpu.sock").exists()


def test_fault_and_recovery_reach_list_and_watch_within_a_second(kubelet_dir: Path) -> None:
    with running(kubelet_dir, MIXED_NODE, MIXED_CONFIG) as (_agent, kubelet, backend):
        whole = kubelet.plugin("nvidia.com/gpu")
        small = kubelet.plugin("nvidia.com/mig-1g.10gb")
        inventory = backend.inventory()
        gpu2 = inventory.gpus[2].uuid
        # An application XID is ignored; the fatal one after it is the next change seen.
        backend.inject(2, xid=13)
        started = time.monotonic()
        backend.inject(2, xid=79)
        devices = whole.wait_for(lambda d: d.get(gpu2) == UNHEALTHY, timeout=1.0)
        assert time.monotonic() - started < 1.0
        assert devices == {gpu2: UNHEALTHY, inventory.gpus[3].uuid: HEALTHY}
        assert len(whole.lists) == 2  # the first list, then the fatal XID's
        started = time.monotonic()
        backend.clear(2)
        whole.wait_for(healthy, timeout=1.0)
        assert time.monotonic() - started < 1.0
        # A fault on one MIG device reaches its resource only.
        position, mig = next(
            (k, m) for k, m in enumerate(inventory.gpus[0].mig_devices) if m.profile == "1g.10gb"
        )
        backend.inject(0, position, reason="stuck")
        devices = small.wait_for(lambda d: d.get(mig.uuid) == UNHEALTHY, timeout=1.0)
        assert sum(h == UNHEALTHY for h in devices.values()) == 1
        # A fault on a MIG GPU takes all its MIG devices along.
        backend.inject(1, xid=48)
        devices = small.wait_for(
            lambda d: sum(h == UNHEALTHY for h in d.values()) == 3, timeout=1.0
        )
        backend.clear(0, position)
        backend.clear(1)
        small.wait_for(healthy, timeout=1.0)


def allocate_env(plugin: PluginConnection, ids: list[str]) -> dict[str, str]:
    return dict(plugin.allocate(ids).container_responses[0].envs)


def test_allocate_and_preferred_whole_and_mig(kubelet_dir: Path) -> None:
    with running(kubelet_dir, MIXED_NODE, MIXED_CONFIG) as (_agent, kubelet, backend):
        inventory = backend.inventory()
        expected = {
            "nvidia.com/gpu",
            "nvidia.com/mig-1g.10gb",
            "nvidia.com/mig-2g.20gb",
            "nvidia.com/mig-3g.40gb",
        }
        for resource in expected:
            kubelet.plugin(resource)
        assert set(kubelet.plugins) == expected
        whole = kubelet.plugin("nvidia.com/gpu")
        gpu2, gpu3 = inventory.gpus[2].uuid, inventory.gpus[3].uuid
        assert sorted(whole.latest) == sorted([gpu2, gpu3])
        assert whole.preferred([gpu2], 1) == [gpu2]
        assert allocate_env(whole, [gpu3]) == {"NVIDIA_VISIBLE_DEVICES": gpu3}
        three = kubelet.plugin("nvidia.com/mig-3g.40gb")
        migs = [m for g in inventory.gpus for m in g.mig_devices if m.profile == "3g.40gb"]
        assert sorted(three.latest) == sorted(m.uuid for m in migs)
        chosen = three.preferred(sorted(three.latest), 1, must=[migs[1].uuid])
        assert chosen == [migs[1].uuid]
        response = three.allocate([migs[0].uuid], [migs[1].uuid])
        assert [dict(r.envs) for r in response.container_responses] == [
            {"NVIDIA_VISIBLE_DEVICES": migs[0].uuid},
            {"NVIDIA_VISIBLE_DEVICES": migs[1].uuid},
        ]


def test_allocate_and_preferred_time_slicing(kubelet_dir: Path) -> None:
    with running(kubelet_dir, FOUR_A100, TIME_SLICING_4) as (_, kubelet, backend):
        plugin = kubelet.plugin("nvidia.com/gpu")
        assert len(plugin.latest) == 16
        gpus = {g.uuid: g.index for g in backend.inventory().gpus}
        chosen = plugin.preferred(sorted(plugin.latest), 2)
        # Replicas of one request on two GPUs of one NUMA node.
        assert sorted(gpus[i.split("::")[0]] for i in chosen) in ([0, 1], [2, 3])
        env = allocate_env(plugin, chosen)
        assert sorted(env["NVIDIA_VISIBLE_DEVICES"].split(",")) == sorted(
            i.split("::")[0] for i in chosen
        )


def test_allocate_mps_and_cdi_strategies(kubelet_dir: Path, tmp_path: Path) -> None:
    strategies = (DeviceListStrategy.CDI_CRI, DeviceListStrategy.CDI_ANNOTATIONS)
    with running(kubelet_dir, FOUR_A100, MPS_2, strategies=strategies, cdi_dir=tmp_path) as (
        _,
        kubelet,
        _backend,
    ):
        plugin = kubelet.plugin("nvidia.com/gpu")
        replica = sorted(plugin.latest)[0]
        gpu = replica.split("::")[0]
        response = plugin.allocate([replica]).container_responses[0]
        assert [d.name for d in response.cdi_devices] == [f"nvidia.com/gpu={gpu}"]
        ((key, value),) = response.annotations.items()
        assert key.startswith("cdi.k8s.io/gpuplane-device-plugin_") and value == (
            f"nvidia.com/gpu={gpu}"
        )
        assert "NVIDIA_VISIBLE_DEVICES" not in response.envs
        assert response.envs["CUDA_MPS_PIPE_DIRECTORY"] == "/mps/nvidia.com/gpu/pipe"
        assert {m.container_path for m in response.mounts} >= {"/dev/shm"}
        # MPS refuses more than one replica per container, as the NVIDIA plugin does.
        with pytest.raises(grpc.RpcError) as caught:
            plugin.allocate(sorted(plugin.latest)[:2])
        assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert "maximum request size" in (caught.value.details() or "")


def test_mig_single_strategy(kubelet_dir: Path) -> None:
    with running(kubelet_dir, mig_inventory("all-1g.10gb"), SINGLE) as (_, kubelet, backend):
        plugin = kubelet.plugin("nvidia.com/gpu")
        assert len(plugin.latest) == 14 and all(i.startswith("MIG-") for i in plugin.latest)
        chosen = plugin.preferred(sorted(plugin.latest), 3)
        gpu_of = {m.uuid: g.index for g in backend.inventory().gpus for m in g.mig_devices}
        assert len({gpu_of[i] for i in chosen}) == 1
        assert allocate_env(plugin, chosen)["NVIDIA_VISIBLE_DEVICES"] == ",".join(chosen)


def test_reregistration_after_the_kubelet_restarts(kubelet_dir: Path) -> None:
    with running(kubelet_dir, MIXED_NODE, MIXED_CONFIG) as (agent, kubelet, backend):
        resources = set(agent.sockets)
        for resource in resources:
            kubelet.plugin(resource)
        kubelet.restart()
        assert not (kubelet_dir / "gpuplane-gpu.sock").exists()
        for resource in resources:
            plugin = kubelet.plugin(resource, timeout=5.0)
            assert healthy(plugin.latest)
        registered = {kubelet.requests.get(timeout=5).resource_name for _ in resources}
        assert registered == resources
        assert all(path.exists() for path in agent.sockets.values())
        # The new connections carry health changes like the first ones did.
        gpu2 = backend.inventory().gpus[2].uuid
        backend.inject(2, xid=79)
        kubelet.plugins["nvidia.com/gpu"].wait_for(lambda d: d.get(gpu2) == UNHEALTHY, 1.0)


def test_registration_waits_for_a_late_kubelet(kubelet_dir: Path) -> None:
    backend = FakeBackend(text=FOUR_A100)
    agent = NodeAgent(backend, None, AgentOptions(kubelet_dir=kubelet_dir, poll_interval=0.05))
    kubelet = FakeKubelet(kubelet_dir)
    try:
        agent.start()
        time.sleep(0.2)
        kubelet.start()
        assert len(kubelet.plugin("nvidia.com/gpu", timeout=5.0).latest) == 4
    finally:
        agent.stop()
        kubelet.stop()


def test_malformed_requests_are_refused_without_harm(kubelet_dir: Path) -> None:
    with running(kubelet_dir, FOUR_A100) as (_, kubelet, backend):
        plugin = kubelet.plugin("nvidia.com/gpu")
        raw = plugin.channel.unary_unary("/v1beta1.DevicePlugin/Allocate")
        with pytest.raises(grpc.RpcError) as caught:
            raw(b"\xff\xff\xff\xff not protobuf", timeout=5)
        assert caught.value.code() is not grpc.StatusCode.OK
        for call in (
            lambda: plugin.allocate(["GPU-not-here"]),
            lambda: plugin.allocate([]),
            lambda: plugin.preferred(sorted(plugin.latest), 9),
            lambda: plugin.preferred(["GPU-not-here"], 1),
            lambda: plugin.preferred(sorted(plugin.latest), -1),
        ):
            with pytest.raises(grpc.RpcError) as caught:
                call()
            assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        unknown = plugin.channel.unary_unary("/v1beta1.DevicePlugin/NoSuchCall")
        with pytest.raises(grpc.RpcError) as caught:
            unknown(b"", timeout=5)
        assert caught.value.code() is grpc.StatusCode.UNIMPLEMENTED
        # Still serving, and the stream still carries changes.
        gpu = backend.inventory().gpus[0].uuid
        assert allocate_env(plugin, [gpu]) == {"NVIDIA_VISIBLE_DEVICES": gpu}
        backend.inject(0, xid=79)
        plugin.wait_for(lambda d: d.get(gpu) == UNHEALTHY, 1.0)
        assert plugin.stream_error is None


def test_node_agent_command_shuts_down_on_sigterm(kubelet_dir: Path, tmp_path: Path) -> None:
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(FOUR_A100)
    kubelet = FakeKubelet(kubelet_dir).start()
    command = [
        sys.executable,
        "-m",
        "gpuplane",
        "node-agent",
        "--backend",
        "fake",
        "--inventory",
        str(inventory),
        "--kubelet-dir",
        str(kubelet_dir),
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=env)
    try:
        plugin = kubelet.plugin("nvidia.com/gpu", timeout=15.0)
        assert len(plugin.latest) == 4
        # A fault written into the inventory file reaches the kubelet.
        inventory.write_text(FOUR_A100 + "faults: [{gpu: 1, xid: 79}]\n")
        plugin.wait_for(lambda d: UNHEALTHY in d.values(), timeout=3.0)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
        kubelet.stop()
    assert process.returncode == 0, stderr
    assert not list(kubelet_dir.glob("gpuplane-*.sock"))
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    messages = [line["msg"] for line in lines]
    assert "registered" in messages and "shutting down" in messages and "stopped" in messages
    unhealthy = next(line for line in lines if line["msg"] == "device unhealthy")
    assert unhealthy["reason"].startswith("XID 79")


def test_node_agent_command_without_a_gpu_fails_with_a_message(kubelet_dir: Path) -> None:
    try:
        NvmlBackend().close()
    except BackendError:
        pass
    else:  # pragma: no cover - a machine with a GPU would serve it
        pytest.skip("NVML works here")
    result = subprocess.run(
        [sys.executable, "-m", "gpuplane", "node-agent", "--kubelet-dir", str(kubelet_dir)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error: NVML") or "nvidia-ml-py" in result.stderr


class RefusingKubelet(FakeKubelet):
    """A kubelet that refuses the first registrations, as one does while it starts up."""

    def __init__(self, directory: Path, refusals: int) -> None:
        super().__init__(directory)
        self.refusals = refusals

    def Register(self, request: api.RegisterRequest, context: grpc.ServicerContext) -> api.Empty:
        if self.refusals > 0:
            self.refusals -= 1
            context.abort(grpc.StatusCode.UNAVAILABLE, "device manager not ready")
        return super().Register(request, context)


def test_a_refused_registration_is_retried(kubelet_dir: Path) -> None:
    kubelet = RefusingKubelet(kubelet_dir, refusals=2).start()
    agent = NodeAgent(
        FakeBackend(text=FOUR_A100), None, AgentOptions(kubelet_dir=kubelet_dir, poll_interval=0.05)
    )
    try:
        agent.start()
        assert len(kubelet.plugin("nvidia.com/gpu", timeout=5.0).latest) == 4
        assert kubelet.refusals == 0
    finally:
        agent.stop()
        kubelet.stop()



def test_node_labels_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(mig_inventory("all-1g.10gb"))
    config = tmp_path / "config.yaml"
    config.write_text(MIXED)
    args = ("node", "labels", "--backend", "fake", "--inventory", inventory, "--config", config)
    status, out, err = cli(capsys, monkeypatch, *args)
    assert status == 0, err
    lines = out.splitlines()
    assert "nvidia.com/mig-1g.10gb.count=14" in lines
    assert "nvidia.com/mig.strategy=mixed" in lines
    output = tmp_path / "features.d" / "gpuplane"
    status, _, err = cli(capsys, monkeypatch, *args, "-o", output)
    assert status == 0, err
    assert output.read_text().splitlines() == lines
    bad = tmp_path / "bad.yaml"
    bad.write_text("gpus:\n  - {model: NVIDIA-A100-SXM4-80GB, mig: all-9g.1gb}\n")
    status, _, err = cli(
        capsys, monkeypatch, "node", "labels", "--backend", "fake", "--inventory", bad
    )
    assert status == 2
    assert err.startswith(f"error: {bad}:2: gpus[0].mig:")


def test_an_unwritable_cdi_dir_is_reported_not_raised(kubelet_dir: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    agent = NodeAgent(
        FakeBackend(text=FOUR_A100), None, AgentOptions(kubelet_dir=kubelet_dir, cdi_dir=blocker)
    )
    with pytest.raises(InputError, match="cannot write the CDI spec") as caught:
        agent.run(threading.Event())
    assert caught.value.where is not None and caught.value.where.file == str(blocker)
    assert not list(kubelet_dir.glob("*.sock"))


def test_many_list_and_watch_streams_never_starve_allocate(kubelet_dir: Path) -> None:
    """Twelve extra ListAndWatch streams (the kubelet's is open too) used to take all eight
    workers and leave Allocate waiting; now the oldest streams end for the new ones, and
    Allocate answers at once."""
    from gpuplane.node.plugin import MAX_STREAMS
    from gpuplane.node.proto import api_pb2_grpc as api_grpc

    with running(kubelet_dir, FOUR_A100) as (agent, kubelet, backend):
        plugin = kubelet.plugin("nvidia.com/gpu")
        channel = grpc.insecure_channel(f"unix://{agent.sockets['nvidia.com/gpu']}")
        stub = api_grpc.DevicePluginStub(channel)
        streams = []
        for _ in range(12):
            # One at a time: the server then sees them in this order (oldest first).
            streams.append(stub.ListAndWatch(api.Empty()))
            next(streams[-1])  # opened and sent its list
        uuid = backend.inventory().gpus[0].uuid
        start = time.monotonic()
        assert allocate_env(plugin, [uuid]) == {"NVIDIA_VISIBLE_DEVICES": uuid}
        assert time.monotonic() - start < 2.0
        # The oldest streams were ended for the newer ones: only MAX_STREAMS stay open.
        ended = 0
        for stream in streams[: 12 - MAX_STREAMS]:
            assert list(stream) == []  # ends without another list (no error)
            ended += 1
        assert ended == 12 - MAX_STREAMS
        for stream in streams:
            stream.cancel()
        channel.close()
