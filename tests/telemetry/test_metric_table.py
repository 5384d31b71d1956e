"""gpuplane's GPU metrics against dcgm-exporter's published default counters.

DEFAULT_COUNTERS is etc/default-counters.csv of github.com/NVIDIA/dcgm-exporter at release
4.5.3-4.8.2 (commit 691c92762eb551313c825f6efe4ceeee20982801; unchanged at d5e5f510a1b6, May
2026): the field name and Prometheus type of every line, `enabled` False for the lines the
file ships commented out. The labels are those of its renderer at the same commit
(internal/pkg/rendermetrics/render_metrics.go: gpu, UUID, pci_bus_id, device, modelName,
GPU_I_PROFILE and GPU_I_ID on MIG devices, Hostname; static fields such as
DCGM_FI_DRIVER_VERSION become labels; err_code and err_msg on DCGM_FI_DEV_XID_ERRORS
(internal/pkg/collector/gpu_collector.go); pod, namespace, container from the pod mapper
(internal/pkg/transformation/const.go)). dcgm-exporter renamed Hostname to hostname after
that release, on its main branch only; gpuplane follows the released name.
"""

from __future__ import annotations

from gpuplane.node import FakeBackend
from gpuplane.telemetry import DCGM_METRICS, NOT_EXPORTED, GpuExporter
from gpuplane.telemetry.metrics import (
    DEVICE_LABELS,
    DRIVER_LABEL,
    MIG_LABELS,
    POD_LABELS,
    POD_METRICS,
    XID_LABELS,
)

from telemetry_helpers import one, parse

# (field, type, enabled by default)
DEFAULT_COUNTERS: tuple[tuple[str, str, bool], ...] = (
    ("DCGM_FI_DEV_SM_CLOCK", "gauge", True),
    ("DCGM_FI_DEV_MEM_CLOCK", "gauge", True),
    ("DCGM_FI_DEV_MEMORY_TEMP", "gauge", True),
    ("DCGM_FI_DEV_GPU_TEMP", "gauge", True),
    ("DCGM_FI_DEV_POWER_USAGE", "gauge", True),
    ("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", "counter", True),
    ("DCGM_FI_PROF_PCIE_TX_BYTES", "counter", False),
    ("DCGM_FI_PROF_PCIE_RX_BYTES", "counter", False),
    ("DCGM_FI_DEV_PCIE_REPLAY_COUNTER", "counter", True),
    ("DCGM_FI_DEV_GPU_UTIL", "gauge", True),
    ("DCGM_FI_DEV_MEM_COPY_UTIL", "gauge", True),
    ("DCGM_FI_DEV_ENC_UTIL", "gauge", True),
    ("DCGM_FI_DEV_DEC_UTIL", "gauge", True),
    ("DCGM_FI_DEV_XID_ERRORS", "gauge", True),
    ("DCGM_FI_DEV_POWER_VIOLATION", "counter", False),
    ("DCGM_FI_DEV_THERMAL_VIOLATION", "counter", False),
    ("DCGM_FI_DEV_SYNC_BOOST_VIOLATION", "counter", False),
    ("DCGM_FI_DEV_BOARD_LIMIT_VIOLATION", "counter", False),
    ("DCGM_FI_DEV_LOW_UTIL_VIOLATION", "counter", False),
    ("DCGM_FI_DEV_RELIABILITY_VIOLATION", "counter", False),
    ("DCGM_FI_DEV_FB_FREE", "gauge", True),
    ("DCGM_FI_DEV_FB_USED", "gauge", True),
    ("DCGM_FI_DEV_FB_RESERVED", "gauge", True),
    ("DCGM_FI_DEV_ECC_SBE_VOL_TOTAL", "counter", False),
    ("DCGM_FI_DEV_ECC_DBE_VOL_TOTAL", "counter", False),
    ("DCGM_FI_DEV_ECC_SBE_AGG_TOTAL", "counter", False),
    ("DCGM_FI_DEV_ECC_DBE_AGG_TOTAL", "counter", False),
    ("DCGM_FI_DEV_RETIRED_SBE", "counter", False),
    ("DCGM_FI_DEV_RETIRED_DBE", "counter", False),
    ("DCGM_FI_DEV_RETIRED_PENDING", "counter", False),
    ("DCGM_FI_DEV_NVLINK_CRC_FLIT_ERROR_COUNT_TOTAL", "counter", False),
    ("DCGM_FI_DEV_NVLINK_CRC_DATA_ERROR_COUNT_TOTAL", "counter", False),
    ("DCGM_FI_DEV_NVLINK_REPLAY_ERROR_COUNT_TOTAL", "counter", False),
    ("DCGM_FI_DEV_NVLINK_RECOVERY_ERROR_COUNT_TOTAL", "counter", False),
    ("DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL", "counter", True),
    ("DCGM_FI_DEV_NVLINK_BANDWIDTH_L0", "counter", False),
    ("DCGM_FI_DEV_VGPU_LICENSE_STATUS", "gauge", True),
    ("DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS", "counter", True),
    ("DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS", "counter", True),
    ("DCGM_FI_DEV_ROW_REMAP_FAILURE", "gauge", True),
    ("DCGM_FI_PROF_GR_ENGINE_ACTIVE", "gauge", True),
    ("DCGM_FI_PROF_SM_ACTIVE", "gauge", False),
    ("DCGM_FI_PROF_SM_OCCUPANCY", "gauge", False),
    ("DCGM_FI_PROF_PIPE_TENSOR_ACTIVE", "gauge", True),
    ("DCGM_FI_PROF_DRAM_ACTIVE", "gauge", True),
    ("DCGM_FI_PROF_PIPE_FP64_ACTIVE", "gauge", False),
    ("DCGM_FI_PROF_PIPE_FP32_ACTIVE", "gauge", False),
    ("DCGM_FI_PROF_PIPE_FP16_ACTIVE", "gauge", False),
    # The file lists the two PCIe byte rates twice: commented as counters, enabled as gauges.
    ("DCGM_FI_PROF_PCIE_TX_BYTES", "gauge", True),
    ("DCGM_FI_PROF_PCIE_RX_BYTES", "gauge", True),
)
ENABLED = {name for name, _, enabled in DEFAULT_COUNTERS if enabled}
TYPES = {name: kind for name, kind, enabled in DEFAULT_COUNTERS if enabled} | {
    name: kind for name, kind, enabled in DEFAULT_COUNTERS if not enabled and name not in ENABLED
}

NODE = """
node: n0
gpus:
  - {model: NVIDIA-A100-SXM4-80GB}
  - {model: NVIDIA-A100-SXM4-80GB, mig: all-1g.10gb}
  - {model: NVIDIA-L4}
"""


def test_every_exported_dcgm_metric_has_dcgm_exporters_name_and_type() -> None:
    for spec in DCGM_METRICS:
        assert spec.name in TYPES, f"{spec.name} is not a dcgm-exporter counter"
        assert spec.type == TYPES[spec.name], spec.name


def test_every_default_counter_is_exported_or_said_why_not() -> None:
    exported = {spec.name for spec in DCGM_METRICS}
    assert ENABLED - exported == {name for name in NOT_EXPORTED if name in ENABLED}
    assert set(NOT_EXPORTED) <= set(TYPES)
    assert not exported & set(NOT_EXPORTED)
    assert all(name.startswith("DCGM_FI_PROF_") for name in NOT_EXPORTED if "VGPU" not in name)


def test_the_table_names_each_metric_and_field_once() -> None:
    specs = DCGM_METRICS + POD_METRICS
    assert len({s.name for s in specs}) == len(specs)
    assert len({s.field for s in DCGM_METRICS}) == len(DCGM_METRICS)
    assert all(s.help and s.unit for s in specs)


def test_a_scrape_has_the_tables_names_types_and_dcgm_labels() -> None:
    exporter = GpuExporter(FakeBackend(text=NODE), hostname="n0")
    types, samples = parse(exporter.render())
    # Every metric the fake backend can give is there, with the table's type.
    assert {name: kind for name, kind in types.items()} == {
        s.name: s.type for s in DCGM_METRICS
    }
    for sample in samples:
        assert sample.name in types
        keys = set(sample.labels)
        base = set(DEVICE_LABELS) | {DRIVER_LABEL}
        if sample.name == "DCGM_FI_DEV_XID_ERRORS":
            base |= set(XID_LABELS)
        if "GPU_I_ID" in keys:
            base |= set(MIG_LABELS)
        assert keys == base, (sample.name, keys ^ base)
        assert not keys & set(POD_LABELS)
    gpu = one(samples, "DCGM_FI_DEV_GPU_TEMP", gpu="0")
    assert gpu.labels["device"] == "nvidia0"
    assert gpu.labels["modelName"] == "NVIDIA A100-SXM4-80GB"
    assert gpu.labels["pci_bus_id"] == "00000000:10:00.0"
    assert gpu.labels["Hostname"] == "n0"
    assert gpu.labels[DRIVER_LABEL] == "550.54.15"


def test_mig_devices_carry_their_profile_and_instance() -> None:
    backend = FakeBackend(text=NODE)
    _, samples = parse(GpuExporter(backend, hostname="n0").render())
    migs = [s for s in samples if s.name == "DCGM_FI_DEV_FB_FREE" and "GPU_I_ID" in s.labels]
    parent = backend.inventory().gpus[1]
    assert [(s.labels["GPU_I_PROFILE"], s.labels["GPU_I_ID"]) for s in migs] == [
        ("1g.10gb", str(i)) for i in range(1, 8)
    ]
    # dcgm-exporter names a MIG device by its GPU: index, UUID and bus id are the parent's.
    assert {s.labels["UUID"] for s in migs} == {parent.uuid}
    assert {s.labels["gpu"] for s in migs} == {"1"}
    # NVML gives no utilisation per MIG device: none is exported rather than a made-up one.
    assert not [s for s in samples if s.name == "DCGM_FI_DEV_GPU_UTIL" and "GPU_I_ID" in s.labels]
