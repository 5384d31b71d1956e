"""What a node agent learns about its GPUs, and the one interface every GPU backend serves.

A backend (NVML on a GPU node, a YAML-driven fake everywhere else) answers three things:

* `inventory()`: the GPUs, their MIG devices, PCI and NUMA placement, driver and CUDA versions;
* `wait_events(timeout)`: raw health events (XIDs, ECC errors, injected faults, recoveries),
  waiting at most `timeout` seconds for the first one;
* `probe(uuid)`: whether a device that was marked unhealthy looks well again;
* `sample()`: a read-only telemetry reading of every GPU and MIG device (clocks,
  temperatures, power, energy, utilisations, framebuffer, the last XID, PCIe replays, ECC and
  row remapping, NVLink traffic, and the processes using it), for the exporter in
  `gpuplane.telemetry`. A field the device cannot report is None and is not exported.

What counts as unhealthy is not the backend's business: `gpuplane.node.health` applies the
device plugin's XID policy to the raw events, so both backends are judged alike.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from gpuplane.errors import InputError


class BackendError(InputError):
    """A GPU backend that cannot start: no driver, no GPU, an unreadable inventory."""


@dataclass(frozen=True)
class MigDevice:
    """One MIG device (a GPU instance with its compute instance) as the driver reports it."""

    uuid: str
    profile: str  # the catalog's name: "1g.10gb", "1g.10gb+me"
    start: int  # first memory slice of the GPU instance's placement
    gpu_instance: int
    compute_instance: int
    memory_mib: int
    #: Minor numbers of /dev/nvidia-caps/nvidia-cap<N> granting access to the GI and CI.
    gi_cap_minor: int | None = None
    ci_cap_minor: int | None = None


@dataclass(frozen=True)
class Gpu:
    """One physical GPU."""

    index: int
    uuid: str
    name: str  # as NVML names it: "NVIDIA A100-SXM4-80GB"
    memory_mib: int
    compute_capability: tuple[int, int]
    pci_bus_id: str
    minor: int  # /dev/nvidia<minor>
    numa_node: int | None = None
    mig_capable: bool = False
    mig_enabled: bool = False
    mig_devices: tuple[MigDevice, ...] = ()

    @property
    def device_path(self) -> str:
        return f"/dev/nvidia{self.minor}"


@dataclass(frozen=True)
class Inventory:
    """Everything discovered on the node, GPUs in index order."""

    gpus: tuple[Gpu, ...]
    driver_version: str  # "550.54.15"
    cuda_driver_version: tuple[int, int]  # the CUDA version the driver supports: (12, 4)
    #: What was found but cannot be served (e.g. MIG compute-instance subdivisions).
    warnings: tuple[str, ...] = ()

    def by_uuid(self) -> dict[str, tuple[Gpu, MigDevice | None]]:
        """Every GPU and MIG device by UUID, with the GPU that holds it."""
        out: dict[str, tuple[Gpu, MigDevice | None]] = {}
        for gpu in self.gpus:
            out[gpu.uuid] = (gpu, None)
            for mig in gpu.mig_devices:
                out[mig.uuid] = (gpu, mig)
        return out

    def parents(self) -> dict[str, str]:
        """MIG device UUID -> the UUID of its GPU."""
        return {mig.uuid: gpu.uuid for gpu in self.gpus for mig in gpu.mig_devices}


class EventKind(StrEnum):
    XID = "xid"  # an XID error; `code` is the XID
    ECC_DBE = "ecc-dbe"  # an uncorrectable (double-bit) ECC error
    FAULT = "fault"  # a fault injected into the fake backend; `reason` says what
    CLEARED = "cleared"  # an injected fault was taken away: the device is well again
    LOST = "lost"  # the backend lost sight of the device (or of all, when uuid is None)


@dataclass(frozen=True)
class HealthEvent:
    """A raw health event about one GPU or MIG device (by UUID), or all of them (None)."""

    kind: EventKind
    uuid: str | None
    code: int | None = None
    reason: str = ""

    def describe(self) -> str:
        what = {
            EventKind.XID: f"XID {self.code}",
            EventKind.ECC_DBE: "uncorrectable ECC error",
            EventKind.FAULT: f"fault: {self.reason or 'injected'}",
            EventKind.CLEARED: "fault cleared",
            EventKind.LOST: f"device lost: {self.reason or 'no answer'}",
        }[self.kind]
        return f"{what} on {self.uuid or 'all devices'}"


@dataclass(frozen=True)
class ProcessSample:
    """One process using a GPU or MIG device, from the driver's per-process accounting."""

    pid: int
    used_memory_mib: int
    #: Share of the device's SM time this process had over the last sample period, in %.
    sm_util: int | None = None
    #: Share of the device's memory-copy time, in %.
    memory_util: int | None = None


@dataclass(frozen=True)
class DeviceSample:
    """One telemetry reading of a GPU (or, with fewer fields, of a MIG device).

    Units are dcgm-exporter's: MHz, degrees C, W, mJ, %, MiB. Counters (energy, PCIe replays,
    ECC, remapped rows, NVLink) only grow while the driver runs.
    """

    uuid: str
    sm_clock_mhz: int | None = None
    mem_clock_mhz: int | None = None
    gpu_temp_c: int | None = None
    memory_temp_c: int | None = None
    power_w: float | None = None
    energy_mj: int | None = None
    pcie_replays: int | None = None
    gpu_util: int | None = None
    mem_copy_util: int | None = None
    enc_util: int | None = None
    dec_util: int | None = None
    fb_free_mib: int | None = None
    fb_used_mib: int | None = None
    fb_reserved_mib: int | None = None
    #: The last XID the device raised; 0 while it raised none.
    last_xid: int | None = None
    ecc_sbe_volatile: int | None = None
    ecc_dbe_volatile: int | None = None
    ecc_sbe_aggregate: int | None = None
    ecc_dbe_aggregate: int | None = None
    remapped_rows_correctable: int | None = None
    remapped_rows_uncorrectable: int | None = None
    row_remap_failure: int | None = None
    #: Total NVLink traffic over all links, in KiB as NVML counts it; None without NVLink.
    nvlink_bandwidth_total: int | None = None
    vgpu_license_status: int | None = None
    processes: tuple[ProcessSample, ...] = ()


class Backend(ABC):
    """A source of GPU inventory and health events."""

    #: How logs and errors name the backend: "nvml", "fake".
    name: str = "backend"

    @abstractmethod
    def inventory(self) -> Inventory:
        """The node's GPUs as they are now."""

    @abstractmethod
    def wait_events(self, timeout: float) -> Sequence[HealthEvent]:
        """Health events since the last call; waits up to `timeout` seconds for the first."""

    @abstractmethod
    def probe(self, uuid: str) -> bool:
        """Whether the GPU or MIG device `uuid` answers and shows nothing pending."""

    @abstractmethod
    def sample(self) -> Sequence[DeviceSample]:
        """A telemetry reading of each GPU, then of its MIG devices, in inventory order."""

    def close(self) -> None:  # noqa: B027 - most backends hold nothing to release
        """Release what the backend holds; it is not used afterwards."""
