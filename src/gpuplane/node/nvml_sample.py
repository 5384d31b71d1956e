"""Telemetry readings through NVML, for `NvmlBackend.sample()`; read-only.

The NVML module comes in as an argument (the backend's), so that `gpuplane.node.nvml` stays
the one module that imports pynvml. Every query a GPU or driver does not support (NVML's
NotSupported, or a constant missing from an older binding) leaves its field None, and the
exporter leaves that metric out, as dcgm-exporter leaves out blank values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gpuplane.node.backend import DeviceSample, Gpu, Inventory, MigDevice, ProcessSample

_MIB = 1024 * 1024


class NvmlSampler:
    """Reads one DeviceSample per GPU and MIG device through `nvml`."""

    def __init__(self, nvml: Any, inventory: Inventory, last_xid: Mapping[str, int]) -> None:
        self._nvml = nvml
        self._inventory = inventory
        #: The backend's record of the last XID per device, kept from its event stream.
        self._last_xid = last_xid
        #: NVML's process-utilisation samples are asked for "since" this timestamp (us).
        self._seen: dict[str, int] = {}

    def sample(self) -> list[DeviceSample]:
        out: list[DeviceSample] = []
        for gpu in self._inventory.gpus:
            out.append(self._gpu(gpu))
            out += [self._mig(gpu, mig) for mig in gpu.mig_devices]
        return out

    def _gpu(self, gpu: Gpu) -> DeviceSample:
        handle = self._call("nvmlDeviceGetHandleByUUID", gpu.uuid)
        if handle is None:
            return DeviceSample(uuid=gpu.uuid)
        util = self._call("nvmlDeviceGetUtilizationRates", handle)
        power_mw = self._call("nvmlDeviceGetPowerUsage", handle)
        remap = self._call("nvmlDeviceGetRemappedRows", handle)
        used, free, reserved = self._memory(handle)
        return DeviceSample(
            uuid=gpu.uuid,
            sm_clock_mhz=self._const_call("nvmlDeviceGetClockInfo", handle, "NVML_CLOCK_SM"),
            mem_clock_mhz=self._const_call("nvmlDeviceGetClockInfo", handle, "NVML_CLOCK_MEM"
            ),
            gpu_temp_c=self._const_call("nvmlDeviceGetTemperature", handle, "NVML_TEMPERATURE_GPU"
            ),
            memory_temp_c=self._field(handle, "NVML_FI_DEV_MEMORY_TEMP"),
            power_w=None if power_mw is None else power_mw / 1000.0,
            energy_mj=self._call("nvmlDeviceGetTotalEnergyConsumption", handle),
            pcie_replays=self._call("nvmlDeviceGetPcieReplayCounter", handle),
            gpu_util=None if util is None else int(util.gpu),
            mem_copy_util=None if util is None else int(util.memory),
            enc_util=_first(self._call("nvmlDeviceGetEncoderUtilization", handle)),
            dec_util=_first(self._call("nvmlDeviceGetDecoderUtilization", handle)),
            fb_used_mib=used,
            fb_free_mib=free,
            fb_reserved_mib=reserved,
            last_xid=self._last_xid.get(gpu.uuid, 0),
            ecc_sbe_volatile=self._ecc(
                handle, "NVML_MEMORY_ERROR_TYPE_CORRECTED", "NVML_VOLATILE_ECC"
            ),
            ecc_dbe_volatile=self._ecc(
                handle, "NVML_MEMORY_ERROR_TYPE_UNCORRECTED", "NVML_VOLATILE_ECC"
            ),
            ecc_sbe_aggregate=self._ecc(
                handle, "NVML_MEMORY_ERROR_TYPE_CORRECTED", "NVML_AGGREGATE_ECC"
            ),
            ecc_dbe_aggregate=self._ecc(
                handle, "NVML_MEMORY_ERROR_TYPE_UNCORRECTED", "NVML_AGGREGATE_ECC"
            ),
            # (correctable, uncorrectable, pending, failure)
            remapped_rows_correctable=None if remap is None else int(remap[0]),
            remapped_rows_uncorrectable=None if remap is None else int(remap[1]),
            row_remap_failure=None if remap is None else int(bool(remap[3])),
            nvlink_bandwidth_total=self._nvlink(handle),
            processes=self._processes(gpu.uuid, handle),
        )

    def _mig(self, gpu: Gpu, mig: MigDevice) -> DeviceSample:
        handle = self._call("nvmlDeviceGetHandleByUUID", mig.uuid)
        if handle is None:
            return DeviceSample(uuid=mig.uuid)
        used, free, reserved = self._memory(handle)
        return DeviceSample(
            uuid=mig.uuid,
            fb_used_mib=used,
            fb_free_mib=free,
            fb_reserved_mib=reserved,
            last_xid=self._last_xid.get(mig.uuid),
            processes=self._processes(mig.uuid, handle),
        )

    def _memory(self, handle: Any) -> tuple[int | None, int | None, int | None]:
        nvml = self._nvml
        version = getattr(nvml, "nvmlMemory_v2", None)
        info = None
        if version is not None:
            info = self._call("nvmlDeviceGetMemoryInfo", handle, version)
        if info is None:
            info = self._call("nvmlDeviceGetMemoryInfo", handle)
        if info is None:
            return None, None, None
        return tuple(  # type: ignore[return-value]
            None if getattr(info, key, None) is None else int(getattr(info, key)) // _MIB
            for key in ("used", "free", "reserved")
        )

    def _processes(self, uuid: str, handle: Any) -> tuple[ProcessSample, ...]:
        memory: dict[int, int] = {}
        for query in (
            "nvmlDeviceGetComputeRunningProcesses",
            "nvmlDeviceGetMPSComputeRunningProcesses",
        ):
            for proc in self._call(query, handle) or ():
                used = getattr(proc, "usedGpuMemory", None)
                memory[int(proc.pid)] = memory.get(int(proc.pid), 0) + (
                    int(used) // _MIB if used else 0
                )
        if not memory:
            return ()
        util: dict[int, tuple[int, int, int]] = {}
        since = self._seen.get(uuid, 0)
        samples = self._call("nvmlDeviceGetProcessUtilization", handle, since)
        for s in samples or ():
            stamp = int(s.timeStamp)
            if int(s.pid) not in util or stamp > util[int(s.pid)][0]:
                util[int(s.pid)] = (stamp, int(s.smUtil), int(s.memUtil))
            self._seen[uuid] = max(self._seen.get(uuid, 0), stamp)
        return tuple(
            ProcessSample(
                pid=pid,
                used_memory_mib=used,
                sm_util=util[pid][1] if pid in util else None,
                memory_util=util[pid][2] if pid in util else None,
            )
            for pid, used in sorted(memory.items())
        )

    def _nvlink(self, handle: Any) -> int | None:
        """Summed NVLink data throughput (KiB) when any link is up, else None."""
        nvml = self._nvml
        links = getattr(nvml, "NVML_NVLINK_MAX_LINKS", 0)
        active = any(
            self._call("nvmlDeviceGetNvLinkState", handle, link) for link in range(links)
        )
        if not active:
            return None
        tx = self._field(handle, "NVML_FI_DEV_NVLINK_THROUGHPUT_DATA_TX")
        rx = self._field(handle, "NVML_FI_DEV_NVLINK_THROUGHPUT_DATA_RX")
        return None if tx is None or rx is None else tx + rx

    def _ecc(self, handle: Any, kind: str, counter: str) -> int | None:
        nvml = self._nvml
        if not hasattr(nvml, kind) or not hasattr(nvml, counter):
            return None
        value = self._call(
            "nvmlDeviceGetTotalEccErrors", handle, getattr(nvml, kind), getattr(nvml, counter)
        )
        return None if value is None else int(value)

    def _const_call(self, func: str, handle: Any, const: str) -> int | None:
        if not hasattr(self._nvml, const):
            return None
        value = self._call(func, handle, getattr(self._nvml, const))
        return None if value is None else int(value)

    def _field(self, handle: Any, const: str) -> int | None:
        """An integer NVML field value, or None when unsupported."""
        nvml = self._nvml
        if not hasattr(nvml, const):
            return None
        values = self._call("nvmlDeviceGetFieldValues", handle, [getattr(nvml, const)])
        if not values or int(values[0].nvmlReturn) != 0:
            return None
        return _field_value(values[0])

    def _call(self, name: str, *args: Any) -> Any:
        """nvml.<name>(*args), or None where the binding or the GPU does not have it."""
        func = getattr(self._nvml, name, None)
        if func is None:
            return None
        try:
            return func(*args)
        except self._nvml.NVMLError:
            return None


#: NVML's value types (nvmlValueType_t) and the union member each is read from.
_VALUE_MEMBERS = {0: "dVal", 1: "uiVal", 2: "ulVal", 3: "ullVal", 4: "sllVal", 5: "siVal"}


def _field_value(value: Any) -> int | None:
    member = _VALUE_MEMBERS.get(int(value.valueType))
    return None if member is None else int(getattr(value.value, member))


def _first(pair: Sequence[Any] | None) -> int | None:
    """NVML's encoder/decoder utilisation is [percent, sampling period in us]."""
    return None if pair is None else int(pair[0])
