"""Telemetry for the fake backend: a small, settable model of what NVML would read.

Each GPU and MIG device starts idle and cool. Tests (and the benchmark) give it work with
`run(uuid, processes)`, the processes that use it with their memory and SM share, and pin any
reading with `set(uuid, field=value)`. What is not pinned follows from the load: utilisation
is the processes' SM shares summed (at most 100), framebuffer used is their memory, the
temperature, power and SM clock rise with utilisation, and energy integrates power over the
time between samples. XIDs injected into the fake backend become the device's last XID, as
NVML's event stream makes them on a real node.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Iterable, Sequence

from gpuplane.node.backend import DeviceSample, Gpu, Inventory, MigDevice, ProcessSample

IDLE_TEMP_C = 32
IDLE_POWER_W = 60.0
#: Watts per percent of utilisation above idle, a 400 W board's slope.
WATTS_PER_UTIL = 3.4
IDLE_SM_CLOCK = 210
BUSY_SM_CLOCK = 1410
MEM_CLOCK = 1593
#: The driver keeps a little framebuffer for itself on every GPU.
RESERVED_MIB = 512
_FIELDS = {f.name for f in dataclasses.fields(DeviceSample)} - {"uuid", "processes"}


class FakeTelemetry:
    """Settable readings for every device of a fake inventory; thread-safe."""

    def __init__(
        self, inventory: Inventory, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._devices: dict[str, tuple[Gpu, MigDevice | None]] = inventory.by_uuid()
        self._order = list(self._devices)
        self._clock = clock
        self._lock = threading.Lock()
        self._pinned: dict[str, dict[str, object]] = {u: {} for u in self._order}
        self._processes: dict[str, tuple[ProcessSample, ...]] = {u: () for u in self._order}
        self._last_xid: dict[str, int] = {}
        self._energy_mj: dict[str, float] = {u: 0.0 for u in self._order}
        self._last_time: float | None = None

    def run(self, uuid: str, processes: Iterable[ProcessSample]) -> None:
        """Make `processes` (and only they) use device `uuid` from now on."""
        self._check(uuid)
        with self._lock:
            self._processes[uuid] = tuple(processes)

    def set(self, uuid: str, **readings: object) -> None:
        """Pin readings of device `uuid` (DeviceSample field names); None unpins one."""
        self._check(uuid)
        unknown = set(readings) - _FIELDS
        if unknown:
            raise ValueError(f"no such reading: {', '.join(sorted(unknown))}")
        with self._lock:
            for name, value in readings.items():
                if value is None:
                    self._pinned[uuid].pop(name, None)
                else:
                    self._pinned[uuid][name] = value

    def record_xid(self, uuid: str, xid: int) -> None:
        """Remember `xid` as the last XID of `uuid` and of its GPU."""
        gpu, _ = self._devices[uuid]
        with self._lock:
            self._last_xid[uuid] = xid
            self._last_xid[gpu.uuid] = xid

    def sample(self) -> Sequence[DeviceSample]:
        with self._lock:
            now = self._clock()
            elapsed = 0.0 if self._last_time is None else max(0.0, now - self._last_time)
            self._last_time = now
            return [self._reading(uuid, elapsed) for uuid in self._order]

    def _reading(self, uuid: str, elapsed: float) -> DeviceSample:
        gpu, mig = self._devices[uuid]
        processes = self._processes[uuid]
        used = sum(p.used_memory_mib for p in processes)
        if mig is not None:
            base = DeviceSample(
                uuid=uuid,
                fb_used_mib=used,
                fb_free_mib=max(0, mig.memory_mib - used),
                processes=processes,
            )
            return dataclasses.replace(base, **self._pinned[uuid])  # type: ignore[arg-type]
        pinned = self._pinned[uuid]
        util = min(100, sum(p.sm_util or 0 for p in processes))
        util = int(pinned.get("gpu_util", util))  # type: ignore[call-overload]
        power = IDLE_POWER_W + WATTS_PER_UTIL * util
        power = float(pinned.get("power_w", power))  # type: ignore[arg-type]
        self._energy_mj[uuid] += power * elapsed * 1000.0
        used += sum(
            p.used_memory_mib for m in gpu.mig_devices for p in self._processes[m.uuid]
        )
        nvlink = 0 if "SXM" in gpu.name else None
        base = DeviceSample(
            uuid=uuid,
            sm_clock_mhz=BUSY_SM_CLOCK if util else IDLE_SM_CLOCK,
            mem_clock_mhz=MEM_CLOCK,
            gpu_temp_c=IDLE_TEMP_C + util * 2 // 5,
            memory_temp_c=IDLE_TEMP_C + 4 + util * 2 // 5,
            power_w=power,
            energy_mj=int(self._energy_mj[uuid]),
            pcie_replays=0,
            gpu_util=util,
            mem_copy_util=min(100, sum(p.memory_util or 0 for p in processes)),
            enc_util=0,
            dec_util=0,
            fb_used_mib=used,
            fb_reserved_mib=RESERVED_MIB,
            fb_free_mib=max(0, gpu.memory_mib - RESERVED_MIB - used),
            last_xid=self._last_xid.get(uuid, 0),
            ecc_sbe_volatile=0,
            ecc_dbe_volatile=0,
            ecc_sbe_aggregate=0,
            ecc_dbe_aggregate=0,
            remapped_rows_correctable=0,
            remapped_rows_uncorrectable=0,
            row_remap_failure=0,
            nvlink_bandwidth_total=nvlink,
            processes=processes,
        )
        return dataclasses.replace(base, **pinned)  # type: ignore[arg-type]

    def _check(self, uuid: str) -> None:
        if uuid not in self._devices:
            raise ValueError(f"no GPU or MIG device {uuid} in the fake inventory")
