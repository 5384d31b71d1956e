"""The exporter driven by the fake backend: readings, units, XIDs, and the HTTP endpoint."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

import pytest

from gpuplane.node import FakeBackend
from gpuplane.node.backend import ProcessSample
from gpuplane.telemetry import GpuExporter
from gpuplane.telemetry.exposition import format_value
from gpuplane.telemetry.server import serve_exporter

from telemetry_helpers import one, parse, select

NODE = "node: n0\ngpus: [{model: NVIDIA-A100-SXM4-80GB}, {model: NVIDIA-L4}]\n"


def test_readings_follow_the_load_in_dcgm_units() -> None:
    backend = FakeBackend(text=NODE)
    hot = backend.inventory().gpus[0]
    backend.telemetry.run(hot.uuid, [ProcessSample(1, 60_000, sm_util=97, memory_util=40)])
    backend.telemetry.set(hot.uuid, gpu_temp_c=91, power_w=412.5)
    _, samples = parse(GpuExporter(backend, hostname="n0").render())
    assert one(samples, "DCGM_FI_DEV_GPU_UTIL", gpu="0").value == 97
    assert one(samples, "DCGM_FI_DEV_MEM_COPY_UTIL", gpu="0").value == 40
    assert one(samples, "DCGM_FI_DEV_GPU_TEMP", gpu="0").value == 91
    assert one(samples, "DCGM_FI_DEV_POWER_USAGE", gpu="0").value == 412.5
    assert one(samples, "DCGM_FI_DEV_FB_USED", gpu="0").value == 60_000
    used, free, reserved = (
        one(samples, f"DCGM_FI_DEV_FB_{k}", gpu="0").value for k in ("USED", "FREE", "RESERVED")
    )
    assert used + free + reserved == hot.memory_mib
    assert one(samples, "DCGM_FI_DEV_SM_CLOCK", gpu="1").value < one(
        samples, "DCGM_FI_DEV_SM_CLOCK", gpu="0"
    ).value
    # NVLink is reported where there is one (SXM), not on a PCIe L4.
    assert select(samples, "DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL", gpu="0")
    assert not select(samples, "DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL", gpu="1")


def test_energy_only_grows() -> None:
    now = [100.0]
    backend = FakeBackend(text=NODE)
    from gpuplane.node.fake_telemetry import FakeTelemetry

    backend.telemetry = FakeTelemetry(backend.inventory(), clock=lambda: now[0])
    exporter = GpuExporter(backend, hostname="n0")
    backend.telemetry.set(backend.inventory().gpus[0].uuid, power_w=300.0)
    readings = []
    for _ in range(3):
        _, samples = parse(exporter.render())
        readings.append(one(samples, "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", gpu="0").value)
        now[0] += 2.0
    assert readings == [0, 600_000, 1_200_000]  # 300 W for 2 s is 600 J, in mJ


def test_the_last_xid_is_reported_with_its_code_and_message(tmp_path: Path) -> None:
    inventory = tmp_path / "node.yaml"
    inventory.write_text(NODE)
    backend = FakeBackend(inventory)
    exporter = GpuExporter(backend, hostname="n0")
    xid = one(parse(exporter.render())[1], "DCGM_FI_DEV_XID_ERRORS", gpu="0")
    assert (xid.value, xid.labels["err_code"], xid.labels["err_msg"]) == (0, "0", "No Error")
    backend.inject(0, xid=79)
    xid = one(parse(exporter.render())[1], "DCGM_FI_DEV_XID_ERRORS", gpu="0")
    assert (xid.value, xid.labels["err_code"]) == (79, "79")
    assert xid.labels["err_msg"] == "GPU has fallen off the bus"
    # A fault written into the watched inventory file counts too.
    inventory.write_text(NODE + "faults: [{gpu: 1, xid: 48}]\n")
    backend.wait_events(1.0)
    assert one(parse(exporter.render())[1], "DCGM_FI_DEV_XID_ERRORS", gpu="1").value == 48


def test_unknown_readings_are_refused() -> None:
    backend = FakeBackend(text=NODE)
    with pytest.raises(ValueError, match="no such reading: gpu_tmp"):
        backend.telemetry.set(backend.inventory().gpus[0].uuid, gpu_tmp=3)
    with pytest.raises(ValueError, match="no GPU or MIG device"):
        backend.telemetry.run("GPU-nope", [])


def test_values_are_written_as_dcgm_exporter_writes_them() -> None:
    assert [format_value(v) for v in (0, 97, 412.5, 3.0, float("nan"))] == [
        "0", "97", "412.5", "3", "NaN",
    ]


def test_the_endpoint_serves_gpu_and_self_metrics() -> None:
    server = serve_exporter(GpuExporter(FakeBackend(text=NODE), hostname="n0"), port=0)
    try:
        with urllib.request.urlopen(server.url, timeout=5) as reply:
            assert reply.headers["Content-Type"].startswith("text/plain; version=0.0.4")
            types, samples = parse(reply.read().decode())
        assert types["DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION"] == "counter"
        assert select(samples, "DCGM_FI_DEV_GPU_TEMP")
        assert one(samples, "gpuplane_exporter_scrape_duration_seconds").value > 0
        assert select(samples, "process_cpu_seconds_total")
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(server.url.replace("/metrics", "/nope"), timeout=5)
        assert err.value.code == 404
    finally:
        server.stop()
