"""The NVML backend: the node's GPUs and their health, as the NVIDIA driver reports them.

This is the only module that touches NVML (the nvidia-ml-py binding, imported as `pynvml`),
and it imports it when a backend is made, so that gpuplane runs on machines without a GPU.
Where NVML or its driver is missing, `NvmlBackend()` raises a BackendError that says so in one
line. It only reads: it never changes MIG mode, clocks or application settings, and never
resets a GPU.

Discovery per GPU: UUID, name, memory, compute capability, PCI bus id, NUMA node (NVML's, or
sysfs for the bus id), /dev/nvidia minor number, MIG capability and mode, and under MIG every
MIG device with its GPU and compute instance, its profile and the memory slices its
placement starts at. Profiles are named the way NVIDIA's tools name them ("1g.10gb",
"1g.10gb+me") and matched to the catalog, by geometry when the name differs.

Health: an NVML event set receives critical XIDs and uncorrectable ECC errors; an event
naming a GPU and compute instance is attributed to that MIG device, else to the whole GPU.
`probe` says whether a sick device answers again with no retired pages or remapped rows
waiting for a reset. `sample` reads telemetry through `gpuplane.node.nvml_sample`, with the
last XID each device raised on the event stream.
"""

from __future__ import annotations

import importlib
import math
import re
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from gpuplane.catalog import GpuModel, lookup
from gpuplane.errors import InputError
from gpuplane.node.backend import (
    Backend,
    BackendError,
    DeviceSample,
    EventKind,
    Gpu,
    HealthEvent,
    Inventory,
    MigDevice,
)
from gpuplane.node.logs import get_logger
from gpuplane.node.nvml_sample import NvmlSampler

log = get_logger()
_NO_EVENTS = object()
#: NVML's "no GPU or compute instance" in an event.
NO_INSTANCE = 0xFFFFFFFF
MIG_MINORS = Path("/proc/driver/nvidia-caps/mig-minors")
_SYSFS_PCI = Path("/sys/bus/pci/devices")
_MIB = 1024 * 1024
_GIB = 1024 * _MIB
_CAP_LINE = re.compile(r"^gpu(\d+)/gi(\d+)(?:/ci(\d+))?/access\s+(\d+)$")


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def mig_memory_gb(mig_memory_mb: int, gpu_memory_bytes: int) -> int:
    """The "Ngb" of a MIG profile name, as NVIDIA's tools round it.

    The instance's share of the GPU's memory is rounded up to eighths, times the GPU's memory
    in whole GiB rounded up, rounded half away from zero.
    """
    share = mig_memory_mb * _MIB / gpu_memory_bytes
    share = math.ceil(share * 8) / 8
    total_gb = -(-gpu_memory_bytes // _GIB)
    return math.floor(share * total_gb + 0.5)


class NvmlBackend(Backend):
    """GPUs as NVML sees them. `nvml` replaces the pynvml module (tests pass a stand-in)."""

    name = "nvml"

    def __init__(self, nvml: Any = None, *, mig_minors: Path = MIG_MINORS) -> None:
        self._nvml = nvml if nvml is not None else _import_pynvml()
        self._mig_minors = mig_minors
        self._lock = threading.Lock()
        self._events: Any = None
        self._closed = False
        self._idle = threading.Event()
        try:
            self._nvml.nvmlInit()
        except self._nvml.NVMLError as exc:
            raise BackendError(
                f"NVML cannot start: {exc}",
                hint="run on a node with an NVIDIA GPU and driver, or use --backend fake",
            ) from None
        self._inventory = self._discover()
        self._last_xid: dict[str, int] = {}
        self._sampler = NvmlSampler(self._nvml, self._inventory, self._last_xid)

    # ------------------------------------------------------------------ Backend

    def inventory(self) -> Inventory:
        return self._inventory

    def wait_events(self, timeout: float) -> Sequence[HealthEvent]:
        nvml = self._nvml
        with self._lock:
            if self._closed:
                return []
            if self._events is None:
                self._events = self._register_events()
            events = self._events
        if events is _NO_EVENTS:
            # No event set: health checks are off, as the NVIDIA plugin carries on without.
            self._idle.wait(timeout)
            return []
        try:
            data = nvml.nvmlEventSetWait_v2(events, max(1, int(timeout * 1000)))
        except nvml.NVMLError as exc:
            if getattr(exc, "value", None) == nvml.NVML_ERROR_TIMEOUT:
                return []
            # The NVIDIA plugin's verdict when the event set fails: every device is suspect.
            return [HealthEvent(EventKind.LOST, None, reason=f"event wait failed: {exc}")]
        return self._event(data)

    def probe(self, uuid: str) -> bool:
        nvml = self._nvml
        try:
            handle = nvml.nvmlDeviceGetHandleByUUID(uuid)
            nvml.nvmlDeviceGetMemoryInfo(handle)
            if uuid.startswith("MIG-"):
                return True
            pending = self._try(nvml.nvmlDeviceGetRetiredPagesPendingStatus, handle, default=0)
            if pending == nvml.NVML_FEATURE_ENABLED:
                return False
            rows = self._try(nvml.nvmlDeviceGetRemappedRows, handle)
            # (corrected, uncorrected, pending, failure): a pending remap waits for a reset.
            return not (rows is not None and (rows[2] or rows[3]))
        except nvml.NVMLError:
            return False

    def sample(self) -> Sequence[DeviceSample]:
        return self._sampler.sample()

    def close(self) -> None:
        nvml = self._nvml
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._idle.set()
            if self._events not in (None, _NO_EVENTS):
                self._try(nvml.nvmlEventSetFree, self._events)
                self._events = None
        self._try(nvml.nvmlShutdown)

    # ---------------------------------------------------------------- discovery

    def _discover(self) -> Inventory:
        nvml = self._nvml
        try:
            count = nvml.nvmlDeviceGetCount()
            if count == 0:
                raise BackendError(
                    "NVML found no GPU on this machine",
                    hint="run on a node with an NVIDIA GPU, or use --backend fake",
                )
            driver = _text(nvml.nvmlSystemGetDriverVersion())
            cuda = int(nvml.nvmlSystemGetCudaDriverVersion())
            warnings: list[str] = []
            caps = self._cap_minors()
            gpus = tuple(self._gpu(i, caps, warnings) for i in range(count))
        except nvml.NVMLError as exc:
            raise BackendError(f"NVML discovery failed: {exc}") from None
        # NVML encodes CUDA 12.4 as 12040.
        return Inventory(gpus, driver, (cuda // 1000, (cuda % 1000) // 10), tuple(warnings))

    def _gpu(
        self, index: int, caps: dict[tuple[int, int, int | None], int], warnings: list[str]
    ) -> Gpu:
        nvml = self._nvml
        handle = nvml.nvmlDeviceGetHandleByIndex(index)
        name = _text(nvml.nvmlDeviceGetName(handle))
        memory = nvml.nvmlDeviceGetMemoryInfo(handle)
        major, minor_cc = nvml.nvmlDeviceGetCudaComputeCapability(handle)
        bus_id = _text(nvml.nvmlDeviceGetPciInfo(handle).busId)
        minor = int(nvml.nvmlDeviceGetMinorNumber(handle))
        mode = self._try(nvml.nvmlDeviceGetMigMode, handle)
        mig_capable = mode is not None
        mig_enabled = bool(mode and mode[0] == nvml.NVML_DEVICE_MIG_ENABLE)
        migs: tuple[MigDevice, ...] = ()
        if mig_enabled:
            migs = self._mig_devices(index, handle, name, int(memory.total), caps, warnings)
        return Gpu(
            index=index,
            uuid=_text(nvml.nvmlDeviceGetUUID(handle)),
            name=name,
            memory_mib=int(memory.total) // _MIB,
            compute_capability=(int(major), int(minor_cc)),
            pci_bus_id=bus_id,
            minor=minor,
            numa_node=self._numa_node(handle, bus_id),
            mig_capable=mig_capable,
            mig_enabled=mig_enabled,
            mig_devices=migs,
        )

    def _mig_devices(
        self,
        index: int,
        handle: Any,
        name: str,
        memory_bytes: int,
        caps: dict[tuple[int, int, int | None], int],
        warnings: list[str],
    ) -> tuple[MigDevice, ...]:
        nvml = self._nvml
        model = _catalog_model(name)
        out = []
        for slot in range(int(nvml.nvmlDeviceGetMaxMigDeviceCount(handle))):
            mig = self._try(nvml.nvmlDeviceGetMigDeviceHandleByIndex, handle, slot)
            if mig is None:
                continue
            uuid = _text(nvml.nvmlDeviceGetUUID(mig))
            gi = int(nvml.nvmlDeviceGetGpuInstanceId(mig))
            ci = int(nvml.nvmlDeviceGetComputeInstanceId(mig))
            attrs = nvml.nvmlDeviceGetAttributes(mig)
            info = nvml.nvmlGpuInstanceGetInfo(nvml.nvmlDeviceGetGpuInstanceById(handle, gi))
            g_slices = int(attrs.gpuInstanceSliceCount)
            c_slices = int(attrs.computeInstanceSliceCount)
            mem_mb = int(attrs.memorySizeMB)
            if c_slices != g_slices:
                warnings.append(
                    f"GPU {index}: MIG device {uuid} is a {c_slices}-slice compute instance of a "
                    f"{g_slices}-slice GPU instance; gpuplane serves whole GPU instances only, "
                    "so it is not advertised"
                )
                continue
            media = self._media_extensions(handle, int(info.profileId))
            profile = _catalog_profile(
                model,
                g_slices,
                int(info.placement.size),
                media,
                mig_memory_gb(mem_mb, memory_bytes),
            )
            if profile is None:
                warnings.append(
                    f"GPU {index}: MIG device {uuid} ({g_slices} slices, {mem_mb} MB) matches no "
                    f"MIG profile the catalog knows for {name}; it is not advertised"
                )
                continue
            out.append(
                MigDevice(
                    uuid=uuid,
                    profile=profile,
                    start=int(info.placement.start),
                    gpu_instance=gi,
                    compute_instance=ci,
                    memory_mib=mem_mb,
                    gi_cap_minor=caps.get((index, gi, None)),
                    ci_cap_minor=caps.get((index, gi, ci)),
                )
            )
        return tuple(sorted(out, key=lambda m: m.start))

    def _media_extensions(self, handle: Any, profile_id: int) -> bool:
        """Whether a GPU instance profile holds the media engines (the "+me" profiles)."""
        nvml = self._nvml
        me_profiles = []
        for name in (
            "NVML_GPU_INSTANCE_PROFILE_1_SLICE_REV1",
            "NVML_GPU_INSTANCE_PROFILE_2_SLICE_REV1",
        ):
            if hasattr(nvml, name):
                me_profiles.append(getattr(nvml, name))
        for kind in me_profiles:
            info = self._try(nvml.nvmlDeviceGetGpuInstanceProfileInfo, handle, kind)
            # The GPU instance reports the profile's id, which differs from the kind's number.
            if info is not None and int(info.id) == profile_id:
                return True
        return False

    def _numa_node(self, handle: Any, bus_id: str) -> int | None:
        nvml = self._nvml
        node = self._try(nvml.nvmlDeviceGetNumaNodeId, handle)
        if node is None:
            # NVML's bus id has an 8-digit domain; sysfs names the device with 4, lowercase.
            domain, rest = bus_id.split(":", 1)
            path = _SYSFS_PCI / f"{domain[-4:]}:{rest}".lower() / "numa_node"
            try:
                node = int(path.read_text().strip())
            except (OSError, ValueError):
                return None
        return None if node is None or int(node) < 0 else int(node)

    def _cap_minors(self) -> dict[tuple[int, int, int | None], int]:
        """(GPU, GI, CI or None) -> minor of its /dev/nvidia-caps access node."""
        try:
            lines = self._mig_minors.read_text().splitlines()
        except OSError:
            return {}
        out: dict[tuple[int, int, int | None], int] = {}
        for line in lines:
            match = _CAP_LINE.match(line.strip())
            if match:
                gpu, gi, ci, minor = match.groups()
                out[(int(gpu), int(gi), int(ci) if ci is not None else None)] = int(minor)
        return out

    # ------------------------------------------------------------------ events

    def _register_events(self) -> Any:
        nvml = self._nvml
        try:
            events = nvml.nvmlEventSetCreate()
        except nvml.NVMLError as exc:
            log.warning("NVML event set not created (%s): health events are off", exc)
            return _NO_EVENTS
        wanted = nvml.nvmlEventTypeXidCriticalError | nvml.nvmlEventTypeDoubleBitEccError
        for gpu in self._inventory.gpus:
            handle = nvml.nvmlDeviceGetHandleByUUID(gpu.uuid)
            supported = self._try(nvml.nvmlDeviceGetSupportedEventTypes, handle, default=0)
            mask = int(supported) & wanted
            if mask:
                # A GPU too old for events is left without them rather than called sick.
                self._try(nvml.nvmlDeviceRegisterEvents, handle, mask, events)
        return events

    def _event(self, data: Any) -> list[HealthEvent]:
        nvml = self._nvml
        try:
            uuid = _text(nvml.nvmlDeviceGetUUID(data.device))
        except nvml.NVMLError as exc:
            return [HealthEvent(EventKind.LOST, None, reason=f"event without a device: {exc}")]
        target = self._attribute(uuid, int(data.gpuInstanceId), int(data.computeInstanceId))
        kind = int(data.eventType)
        if kind & nvml.nvmlEventTypeXidCriticalError:
            self._last_xid[target] = self._last_xid[uuid] = int(data.eventData)
            return [HealthEvent(EventKind.XID, target, code=int(data.eventData))]
        if kind & nvml.nvmlEventTypeDoubleBitEccError:
            return [HealthEvent(EventKind.ECC_DBE, target)]
        return []

    def _attribute(self, gpu_uuid: str, gi: int, ci: int) -> str:
        """The MIG device an event names by GPU and compute instance, else the GPU."""
        if gi == NO_INSTANCE or ci == NO_INSTANCE:
            return gpu_uuid
        for gpu in self._inventory.gpus:
            if gpu.uuid == gpu_uuid:
                for mig in gpu.mig_devices:
                    if mig.gpu_instance == gi and mig.compute_instance == ci:
                        return mig.uuid
        return gpu_uuid

    def _try(self, func: Callable[..., Any], *args: Any, default: Any = None) -> Any:
        """`func(*args)`, or `default` when NVML says the GPU or driver does not support it."""
        try:
            return func(*args)
        except self._nvml.NVMLError:
            return default


def _import_pynvml() -> Any:
    try:
        return importlib.import_module("pynvml")
    except ImportError:
        raise BackendError(
            "the NVML backend needs nvidia-ml-py, which is not installed",
            hint="pip install nvidia-ml-py, or use --backend fake",
        ) from None


def _catalog_model(name: str) -> GpuModel | None:
    try:
        return lookup(name)
    except InputError:
        return None


def _catalog_profile(
    model: GpuModel | None, g_slices: int, memory_slices: int, media: bool, gb: int
) -> str | None:
    """The catalog's profile for a MIG device: by name, else by its geometry."""
    if model is None:
        return None
    name = f"{g_slices}g.{gb}gb" + ("+me" if media else "")
    for profile in model.mig_profiles:
        if profile.name == name:
            return profile.name
    for profile in model.mig_profiles:
        if (
            profile.compute_slices == g_slices
            and profile.memory_slices == memory_slices
            and profile.media_extensions == media
        ):
            return profile.name
    return None
