"""The metric table: every GPU metric the exporter serves, as data.

`DCGM_METRICS` are dcgm-exporter's counters under their own names, types and units, read from
one `DeviceSample` field each; `POD_METRICS` are gpuplane's per-pod metrics for shared GPUs.
`NOT_EXPORTED` names the dcgm-exporter default counters gpuplane does not serve, with why:
the DCGM_FI_PROF_* family comes from DCGM's profiling module, which NVML does not offer.

Labels are dcgm-exporter's: `DEVICE_LABELS` on every GPU series, `MIG_LABELS` added on MIG
devices, `XID_LABELS` on the XID metric, `POD_LABELS` when a pod holds the device.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

MetricType = Literal["gauge", "counter"]


@dataclass(frozen=True)
class MetricSpec:
    """One metric: its name, Prometheus type, help text, unit and the sample field it reads."""

    name: str
    type: MetricType
    help: str
    unit: str
    field: str


def _table(rows: tuple[tuple[str, MetricType, str, str, str], ...]) -> tuple[MetricSpec, ...]:
    return tuple(MetricSpec(*row) for row in rows)


# fmt: off
DCGM_METRICS = _table((
    # name                                    type       help                                    unit  DeviceSample field
    ("DCGM_FI_DEV_SM_CLOCK",                  "gauge",   "SM clock frequency (in MHz).",          "MHz", "sm_clock_mhz"),
    ("DCGM_FI_DEV_MEM_CLOCK",                 "gauge",   "Memory clock frequency (in MHz).",      "MHz", "mem_clock_mhz"),
    ("DCGM_FI_DEV_MEMORY_TEMP",               "gauge",   "Memory temperature (in C).",            "C",   "memory_temp_c"),
    ("DCGM_FI_DEV_GPU_TEMP",                  "gauge",   "GPU temperature (in C).",               "C",   "gpu_temp_c"),
    ("DCGM_FI_DEV_POWER_USAGE",               "gauge",   "Power draw (in W).",                    "W",   "power_w"),
    ("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION",  "counter", "Energy used since boot (in mJ).",       "mJ",  "energy_mj"),
    ("DCGM_FI_DEV_PCIE_REPLAY_COUNTER",       "counter", "PCIe retries since boot.",              "1",   "pcie_replays"),
    ("DCGM_FI_DEV_GPU_UTIL",                  "gauge",   "GPU utilization (in %).",               "%",   "gpu_util"),
    ("DCGM_FI_DEV_MEM_COPY_UTIL",             "gauge",   "Memory copy utilization (in %).",       "%",   "mem_copy_util"),
    ("DCGM_FI_DEV_ENC_UTIL",                  "gauge",   "Encoder utilization (in %).",           "%",   "enc_util"),
    ("DCGM_FI_DEV_DEC_UTIL",                  "gauge",   "Decoder utilization (in %).",           "%",   "dec_util"),
    ("DCGM_FI_DEV_XID_ERRORS",                "gauge",   "The last XID error seen (0: none).",    "1",   "last_xid"),
    ("DCGM_FI_DEV_FB_FREE",                   "gauge",   "Framebuffer memory free (in MiB).",     "MiB", "fb_free_mib"),
    ("DCGM_FI_DEV_FB_USED",                   "gauge",   "Framebuffer memory used (in MiB).",     "MiB", "fb_used_mib"),
    ("DCGM_FI_DEV_FB_RESERVED",               "gauge",   "Framebuffer memory reserved (in MiB).", "MiB", "fb_reserved_mib"),
    ("DCGM_FI_DEV_ECC_SBE_VOL_TOTAL",         "counter", "Single-bit ECC errors since boot.",     "1",   "ecc_sbe_volatile"),
    ("DCGM_FI_DEV_ECC_DBE_VOL_TOTAL",         "counter", "Double-bit ECC errors since boot.",     "1",   "ecc_dbe_volatile"),
    ("DCGM_FI_DEV_ECC_SBE_AGG_TOTAL",         "counter", "Single-bit ECC errors, lifetime.",      "1",   "ecc_sbe_aggregate"),
    ("DCGM_FI_DEV_ECC_DBE_AGG_TOTAL",         "counter", "Double-bit ECC errors, lifetime.",      "1",   "ecc_dbe_aggregate"),
    ("DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS", "counter", "Rows remapped for uncorrectable errors.", "1", "remapped_rows_uncorrectable"),
    ("DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS", "counter", "Rows remapped for correctable errors.", "1",   "remapped_rows_correctable"),
    ("DCGM_FI_DEV_ROW_REMAP_FAILURE",         "gauge",   "Whether row remapping failed (1).",     "1",   "row_remap_failure"),
    ("DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL",    "counter", "NVLink traffic over all links.",        "KiB", "nvlink_bandwidth_total"),
))

POD_METRICS = _table((
    ("gpuplane_pod_gpu_utilization", "gauge",
     "Share of the GPU's SM time used by the container's processes (in %).", "%", "sm_util"),
    ("gpuplane_pod_gpu_memory_used_mib", "gauge",
     "Framebuffer used by the container's processes (in MiB).", "MiB", "used_memory_mib"),
    ("gpuplane_pod_gpu_devices", "gauge",
     "Device-plugin devices (whole GPUs, MIG devices or shared replicas) the container holds "
     "on this GPU.", "1", "devices"),
))
# fmt: on

#: dcgm-exporter default counters gpuplane does not export, and why.
NOT_EXPORTED: dict[str, str] = {
    **{
        name: "DCGM profiling (DCP) metric: DCGM's profiling module, which NVML does not offer"
        for name in (
            "DCGM_FI_PROF_GR_ENGINE_ACTIVE",
            "DCGM_FI_PROF_SM_ACTIVE",
            "DCGM_FI_PROF_SM_OCCUPANCY",
            "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE",
            "DCGM_FI_PROF_DRAM_ACTIVE",
            "DCGM_FI_PROF_PIPE_FP64_ACTIVE",
            "DCGM_FI_PROF_PIPE_FP32_ACTIVE",
            "DCGM_FI_PROF_PIPE_FP16_ACTIVE",
            "DCGM_FI_PROF_PCIE_TX_BYTES",
            "DCGM_FI_PROF_PCIE_RX_BYTES",
        )
    },
    "DCGM_FI_DEV_VGPU_LICENSE_STATUS": "only meaningful inside a vGPU guest, which gpuplane's "
    "node agent does not run in",
}

DEVICE_LABELS = ("gpu", "UUID", "pci_bus_id", "device", "modelName", "Hostname")
#: A label carrying a static field's value, as dcgm-exporter's default counters add it.
DRIVER_LABEL = "DCGM_FI_DRIVER_VERSION"
MIG_LABELS = ("GPU_I_PROFILE", "GPU_I_ID")
XID_LABELS = ("err_code", "err_msg")
POD_LABELS = ("pod", "namespace", "container")

#: How err_msg names the XIDs a platform team meets most; others read "Unknown Error".
XID_MESSAGES: dict[int, str] = {
    0: "No Error",
    13: "Graphics Engine Exception",
    31: "GPU memory page fault",
    43: "GPU stopped processing",
    45: "Preemptive cleanup, due to previous errors",
    48: "Double Bit ECC Error",
    63: "ECC page retirement or row remapping recording event",
    64: "ECC page retirement or row remapper recording failure",
    74: "NVLINK Error",
    79: "GPU has fallen off the bus",
    92: "High single-bit ECC error rate",
    94: "Contained ECC error",
    95: "Uncontained ECC error",
    119: "Timeout waiting for GSP",
}
