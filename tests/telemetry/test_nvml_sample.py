"""NVML telemetry reads with NVML replaced by a stand-in answering as a driver would."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from gpuplane.node.backend import Gpu, Inventory, MigDevice
from gpuplane.node.nvml_sample import NvmlSampler
from gpuplane.telemetry import GpuExporter

from telemetry_helpers import one, parse

MIB = 1024 * 1024


class NVMLError(Exception):
    pass


class StandIn:
    """The pynvml calls a telemetry read makes, for one A100 with NVLink and one MIG device."""

    NVMLError = NVMLError
    NVML_CLOCK_SM = 1
    NVML_CLOCK_MEM = 2
    NVML_TEMPERATURE_GPU = 0
    NVML_FI_DEV_MEMORY_TEMP = 82
    NVML_FI_DEV_NVLINK_THROUGHPUT_DATA_TX = 138
    NVML_FI_DEV_NVLINK_THROUGHPUT_DATA_RX = 139
    NVML_MEMORY_ERROR_TYPE_CORRECTED = 0
    NVML_MEMORY_ERROR_TYPE_UNCORRECTED = 1
    NVML_VOLATILE_ECC = 0
    NVML_AGGREGATE_ECC = 1
    NVML_NVLINK_MAX_LINKS = 12
    nvmlMemory_v2 = 0x02000028

    def __init__(self) -> None:
        self.since: list[int] = []

    def nvmlDeviceGetHandleByUUID(self, uuid: str) -> Any:
        return uuid

    def nvmlDeviceGetClockInfo(self, handle: Any, kind: int) -> int:
        return {1: 1410, 2: 1593}[kind]

    def nvmlDeviceGetTemperature(self, handle: Any, sensor: int) -> int:
        return 71

    def nvmlDeviceGetFieldValues(self, handle: Any, fields: list[int]) -> list[Any]:
        values = {82: (1, 77), 138: (3, 1000), 139: (3, 2500)}
        kind, value = values[fields[0]]
        member = {1: "uiVal", 3: "ullVal"}[kind]
        value_union = SimpleNamespace(**{member: value})
        return [SimpleNamespace(nvmlReturn=0, valueType=kind, value=value_union)]

    def nvmlDeviceGetPowerUsage(self, handle: Any) -> int:
        return 312_450  # mW

    def nvmlDeviceGetTotalEnergyConsumption(self, handle: Any) -> int:
        return 9_876_543

    def nvmlDeviceGetPcieReplayCounter(self, handle: Any) -> int:
        return 2

    def nvmlDeviceGetUtilizationRates(self, handle: Any) -> Any:
        return SimpleNamespace(gpu=88, memory=41)

    def nvmlDeviceGetEncoderUtilization(self, handle: Any) -> list[int]:
        return [3, 167000]

    def nvmlDeviceGetDecoderUtilization(self, handle: Any) -> list[int]:
        raise NVMLError("Not Supported")

    def nvmlDeviceGetMemoryInfo(self, handle: Any, version: int = 1) -> Any:
        if handle.startswith("MIG-"):
            return SimpleNamespace(used=2048 * MIB, free=7680 * MIB, reserved=0)
        return SimpleNamespace(used=40_000 * MIB, free=40_448 * MIB, reserved=1_472 * MIB)

    def nvmlDeviceGetTotalEccErrors(self, handle: Any, kind: int, counter: int) -> int:
        return {(0, 0): 5, (1, 0): 0, (0, 1): 12, (1, 1): 1}[(kind, counter)]

    def nvmlDeviceGetRemappedRows(self, handle: Any) -> tuple[int, int, bool, bool]:
        return (3, 1, False, True)

    def nvmlDeviceGetNvLinkState(self, handle: Any, link: int) -> int:
        return 1 if link < 4 else 0

    def nvmlDeviceGetComputeRunningProcesses(self, handle: Any) -> list[Any]:
        if handle.startswith("MIG-"):
            return [SimpleNamespace(pid=30, usedGpuMemory=2048 * MIB)]
        return [SimpleNamespace(pid=10, usedGpuMemory=30_000 * MIB),
                SimpleNamespace(pid=20, usedGpuMemory=None)]

    def nvmlDeviceGetMPSComputeRunningProcesses(self, handle: Any) -> list[Any]:
        if handle.startswith("MIG-"):
            return []
        return [SimpleNamespace(pid=20, usedGpuMemory=10_000 * MIB)]

    def nvmlDeviceGetProcessUtilization(self, handle: Any, since: int) -> list[Any]:
        self.since.append(since)
        if handle.startswith("MIG-"):
            raise NVMLError("Not Supported")
        return [SimpleNamespace(pid=10, timeStamp=5, smUtil=30, memUtil=10),
                SimpleNamespace(pid=10, timeStamp=9, smUtil=60, memUtil=20),
                SimpleNamespace(pid=20, timeStamp=8, smUtil=25, memUtil=5)]


MIG = MigDevice("MIG-1", "1g.10gb", start=0, gpu_instance=7, compute_instance=0, memory_mib=9728)
GPU = Gpu(0, "GPU-1", "NVIDIA A100-SXM4-80GB", 81920, (8, 0), "00000000:07:00.0", 0,
          mig_capable=True, mig_enabled=True, mig_devices=(MIG,))
INVENTORY = Inventory((GPU,), "550.54.15", (12, 4))


def test_a_gpu_reading_in_dcgm_units() -> None:
    nvml = StandIn()
    gpu, mig = NvmlSampler(nvml, INVENTORY, {"GPU-1": 48}).sample()
    assert (gpu.sm_clock_mhz, gpu.mem_clock_mhz, gpu.gpu_temp_c, gpu.memory_temp_c) == (
        1410, 1593, 71, 77,
    )
    assert (gpu.power_w, gpu.energy_mj, gpu.pcie_replays) == (312.45, 9_876_543, 2)
    assert (gpu.gpu_util, gpu.mem_copy_util, gpu.enc_util, gpu.dec_util) == (88, 41, 3, None)
    assert (gpu.fb_used_mib, gpu.fb_free_mib, gpu.fb_reserved_mib) == (40_000, 40_448, 1_472)
    assert gpu.last_xid == 48
    assert (gpu.ecc_sbe_volatile, gpu.ecc_dbe_volatile) == (5, 0)
    assert (gpu.ecc_sbe_aggregate, gpu.ecc_dbe_aggregate) == (12, 1)
    assert (gpu.remapped_rows_correctable, gpu.remapped_rows_uncorrectable) == (3, 1)
    assert gpu.row_remap_failure == 1
    assert gpu.nvlink_bandwidth_total == 3500
    # Compute and MPS processes are merged by PID; the newest utilisation sample wins.
    assert [(p.pid, p.used_memory_mib, p.sm_util, p.memory_util) for p in gpu.processes] == [
        (10, 30_000, 60, 20), (20, 10_000, 25, 5),
    ]
    assert (mig.fb_used_mib, mig.fb_free_mib) == (2048, 7680)
    assert (mig.gpu_util, mig.last_xid) == (None, None)
    assert [(p.pid, p.sm_util) for p in mig.processes] == [(30, None)]


def test_process_utilisation_is_asked_for_since_the_last_sample() -> None:
    nvml = StandIn()
    sampler = NvmlSampler(nvml, INVENTORY, {})
    sampler.sample()
    sampler.sample()
    assert nvml.since == [0, 0, 9, 0]  # GPU, MIG, GPU (since 9), MIG (never answered)


def test_what_the_binding_or_gpu_lacks_is_left_out() -> None:
    nvml = StandIn()
    del StandIn.NVML_NVLINK_MAX_LINKS  # an older binding, without NVLink constants
    try:
        (gpu, _) = NvmlSampler(nvml, INVENTORY, {}).sample()
    finally:
        StandIn.NVML_NVLINK_MAX_LINKS = 12
    assert gpu.nvlink_bandwidth_total is None and gpu.dec_util is None


def test_the_exporter_reads_an_nvml_backend() -> None:
    class Backend:
        name = "nvml"

        def inventory(self) -> Inventory:
            return INVENTORY

        def sample(self) -> Any:
            return NvmlSampler(StandIn(), INVENTORY, {}).sample()

    _, samples = parse(GpuExporter(Backend(), hostname="gpu-node").render())  # type: ignore[arg-type]
    assert one(samples, "DCGM_FI_DEV_POWER_USAGE").value == 312.45
    assert one(samples, "DCGM_FI_DEV_ROW_REMAP_FAILURE").value == 1
    assert not [s for s in samples if s.name == "DCGM_FI_DEV_DEC_UTIL"]
    assert one(samples, "DCGM_FI_DEV_FB_USED", GPU_I_ID="7").value == 2048
