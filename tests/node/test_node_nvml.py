"""The NVML backend with NVML itself replaced by a stand-in that answers like a driver would."""

from __future__ import annotations

import sys
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from gpuplane.catalog import all_models
from gpuplane.node import nvml as nvml_backend
from gpuplane.node import parse_config
from gpuplane.node.backend import BackendError, EventKind, HealthEvent
from gpuplane.node.devices import plan_node
from gpuplane.node.labels import node_labels
from gpuplane.node.nvml import NO_INSTANCE as NONE
from gpuplane.node.nvml import NvmlBackend, mig_memory_gb

GIB = 1024**3


class NVMLError(Exception):
    def __init__(self, value: int) -> None:
        super().__init__(value)
        self.value = value

    def __str__(self) -> str:
        return {12: "NVML Shared Library Not Found", 3: "Not Supported"}.get(self.value, "Error")


@dataclass
class Mig:
    uuid: str
    gi: int
    ci: int
    g: int
    c: int
    memory_mb: int
    profile_id: int
    start: int
    size: int


@dataclass
class Card:
    uuid: str
    name: str
    memory_bytes: int
    bus_id: str
    minor: int
    numa: int | None
    mig_mode: list[int] | None
    migs: list[Mig] = field(default_factory=list)
    retired_pending: int = 0
    remap_pending: bool = False


class StandInNvml:
    """What the backend calls of pynvml, over a list of cards. Records every call."""

    NVMLError = NVMLError
    NVML_ERROR_TIMEOUT = 10
    NVML_ERROR_NOT_SUPPORTED = 3
    NVML_FEATURE_ENABLED = 1
    NVML_DEVICE_MIG_ENABLE = 1
    NVML_GPU_INSTANCE_PROFILE_1_SLICE_REV1 = 7
    NVML_GPU_INSTANCE_PROFILE_2_SLICE_REV1 = 8
    nvmlEventTypeXidCriticalError = 0x8
    nvmlEventTypeDoubleBitEccError = 0x2
    nvmlEventTypeSingleBitEccError = 0x1

    def __init__(self, cards: list[Card], *, init_error: int | None = None) -> None:
        self.cards = cards
        self.init_error = init_error
        self.events: deque[Any] = deque()
        self.registered: list[tuple[str, int]] = []
        self.calls: list[str] = []
        self.shut_down = False

    def __getattribute__(self, name: str) -> Any:
        if name.startswith("nvml") and not name.startswith("nvmlEventType"):
            object.__getattribute__(self, "calls").append(name)
        return object.__getattribute__(self, name)

    def _card(self, handle: Any) -> Card:
        return self.cards[handle[1]]

    def _mig(self, handle: Any) -> tuple[Card, Mig]:
        card = self.cards[handle[1]]
        return card, card.migs[handle[2]]

    def nvmlInit(self) -> None:
        if self.init_error is not None:
            raise NVMLError(self.init_error)

    def nvmlShutdown(self) -> None:
        self.shut_down = True

    def nvmlDeviceGetCount(self) -> int:
        return len(self.cards)

    def nvmlSystemGetDriverVersion(self) -> bytes:
        return b"550.54.15"

    def nvmlSystemGetCudaDriverVersion(self) -> int:
        return 12040

    def nvmlDeviceGetHandleByIndex(self, index: int) -> Any:
        return ("gpu", index)

    def nvmlDeviceGetHandleByUUID(self, uuid: str) -> Any:
        for i, card in enumerate(self.cards):
            if card.uuid == uuid:
                return ("gpu", i)
            for k, mig in enumerate(card.migs):
                if mig.uuid == uuid:
                    return ("mig", i, k)
        raise NVMLError(6)

    def nvmlDeviceGetName(self, handle: Any) -> str:
        return self._card(handle).name

    def nvmlDeviceGetUUID(self, handle: Any) -> str:
        if handle[0] == "mig":
            return self._mig(handle)[1].uuid
        return self._card(handle).uuid

    def nvmlDeviceGetMemoryInfo(self, handle: Any) -> Any:
        return SimpleNamespace(total=self._card(handle).memory_bytes)

    def nvmlDeviceGetCudaComputeCapability(self, handle: Any) -> tuple[int, int]:
        return (8, 0)

    def nvmlDeviceGetPciInfo(self, handle: Any) -> Any:
        return SimpleNamespace(busId=self._card(handle).bus_id.encode())

    def nvmlDeviceGetMinorNumber(self, handle: Any) -> int:
        return self._card(handle).minor

    def nvmlDeviceGetNumaNodeId(self, handle: Any) -> int:
        numa = self._card(handle).numa
        if numa is None:
            raise NVMLError(3)
        return numa

    def nvmlDeviceGetMigMode(self, handle: Any) -> list[int]:
        mode = self._card(handle).mig_mode
        if mode is None:
            raise NVMLError(3)
        return mode

    def nvmlDeviceGetMaxMigDeviceCount(self, handle: Any) -> int:
        return 7

    def nvmlDeviceGetMigDeviceHandleByIndex(self, handle: Any, index: int) -> Any:
        if index >= len(self._card(handle).migs):
            raise NVMLError(6)
        return ("mig", handle[1], index)

    def nvmlDeviceGetGpuInstanceId(self, handle: Any) -> int:
        return self._mig(handle)[1].gi

    def nvmlDeviceGetComputeInstanceId(self, handle: Any) -> int:
        return self._mig(handle)[1].ci

    def nvmlDeviceGetAttributes(self, handle: Any) -> Any:
        mig = self._mig(handle)[1]
        return SimpleNamespace(
            gpuInstanceSliceCount=mig.g, computeInstanceSliceCount=mig.c, memorySizeMB=mig.memory_mb
        )

    def nvmlDeviceGetGpuInstanceById(self, handle: Any, gi: int) -> Any:
        return ("gi", handle[1], gi)

    def nvmlGpuInstanceGetInfo(self, gi_handle: Any) -> Any:
        card = self.cards[gi_handle[1]]
        mig = next(m for m in card.migs if m.gi == gi_handle[2])
        return SimpleNamespace(
            profileId=mig.profile_id, placement=SimpleNamespace(start=mig.start, size=mig.size)
        )

    def nvmlDeviceGetGpuInstanceProfileInfo(self, handle: Any, kind: int) -> Any:
        # The driver numbers profiles its own way: the +me one-slice profile has id 19.
        return SimpleNamespace(id={7: 19, 8: 20}.get(kind, kind))

    def nvmlDeviceGetRetiredPagesPendingStatus(self, handle: Any) -> int:
        return self._card(handle).retired_pending

    def nvmlDeviceGetRemappedRows(self, handle: Any) -> tuple[int, int, bool, bool]:
        return (0, 0, self._card(handle).remap_pending, False)

    def nvmlEventSetCreate(self) -> Any:
        return "event-set"

    def nvmlEventSetFree(self, events: Any) -> None:
        return None

    def nvmlDeviceGetSupportedEventTypes(self, handle: Any) -> int:
        return 0xF

    def nvmlDeviceRegisterEvents(self, handle: Any, mask: int, events: Any) -> None:
        self.registered.append((self._card(handle).uuid, mask))

    def nvmlEventSetWait_v2(self, events: Any, timeout_ms: int) -> Any:
        if not self.events:
            raise NVMLError(self.NVML_ERROR_TIMEOUT)
        item = self.events.popleft()
        if isinstance(item, NVMLError):
            raise item
        return item


def a100_node() -> StandInNvml:
    mig_gpu = Card(
        uuid="GPU-aaaa",
        name="NVIDIA A100-SXM4-80GB",
        memory_bytes=80 * GIB,
        bus_id="00000000:3B:00.0",
        minor=0,
        numa=1,
        mig_mode=[1, 1],
        migs=[
            Mig("MIG-3g", gi=1, ci=0, g=3, c=3, memory_mb=40192, profile_id=9, start=4, size=4),
            Mig("MIG-1g", gi=7, ci=0, g=1, c=1, memory_mb=9728, profile_id=0, start=0, size=1),
            Mig("MIG-1gme", gi=8, ci=0, g=1, c=1, memory_mb=9728, profile_id=19, start=1, size=1),
            # A compute instance smaller than its GPU instance: not served.
            Mig("MIG-sub", gi=5, ci=1, g=2, c=1, memory_mb=19968, profile_id=1, start=2, size=2),
        ],
    )
    whole = Card(
        uuid="GPU-bbbb",
        name="NVIDIA A100-SXM4-80GB",
        memory_bytes=80 * GIB,
        bus_id="00000000:AF:00.0",
        minor=1,
        numa=None,
        mig_mode=[0, 0],
    )
    return StandInNvml([mig_gpu, whole])


@pytest.fixture
def sysfs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "pci"
    (root / "0000:af:00.0").mkdir(parents=True)
    (root / "0000:af:00.0" / "numa_node").write_text("0\n")
    monkeypatch.setattr(nvml_backend, "_SYSFS_PCI", root)
    return root


@pytest.fixture
def minors(tmp_path: Path) -> Path:
    path = tmp_path / "mig-minors"
    path.write_text(
        "config 1\nmonitor 2\ngpu0/gi1/access 12\ngpu0/gi1/ci0/access 13\n"
        "gpu0/gi7/access 66\ngpu0/gi7/ci0/access 67\n"
    )
    return path


def test_discovery(sysfs: Path, minors: Path) -> None:
    fake = a100_node()
    backend = NvmlBackend(fake, mig_minors=minors)
    inventory = backend.inventory()
    assert inventory.driver_version == "550.54.15"
    assert inventory.cuda_driver_version == (12, 4)
    gpu0, gpu1 = inventory.gpus
    assert (gpu0.uuid, gpu0.memory_mib, gpu0.numa_node, gpu0.pci_bus_id) == (
        "GPU-aaaa",
        81920,
        1,
        "00000000:3B:00.0",
    )
    assert gpu0.mig_enabled and gpu0.mig_capable
    assert [(m.profile, m.start) for m in gpu0.mig_devices] == [
        ("1g.10gb", 0),
        ("1g.10gb+me", 1),
        ("3g.40gb", 4),
    ]
    three = gpu0.mig_devices[2]
    assert (three.gi_cap_minor, three.ci_cap_minor) == (12, 13)
    assert gpu0.mig_devices[1].gi_cap_minor is None
    assert gpu1.numa_node == 0 and gpu1.mig_capable and not gpu1.mig_enabled
    assert len(inventory.warnings) == 1 and "MIG-sub" in inventory.warnings[0]
    # Read only: nothing that changes a GPU was ever called.
    assert not [c for c in fake.calls if "Set" in c and c != "nvmlEventSetCreate"]


def test_discovery_feeds_plan_and_labels(sysfs: Path, minors: Path) -> None:
    inventory = NvmlBackend(a100_node(), mig_minors=minors).inventory()
    plan = plan_node(inventory, parse_config("version: v1\nflags: {migStrategy: mixed}\n"))
    assert plan.advertised() == {
        "nvidia.com/gpu": 1,
        "nvidia.com/mig-1g.10gb": 1,
        "nvidia.com/mig-1g.10gb.me": 1,
        "nvidia.com/mig-3g.40gb": 1,
    }
    labels = node_labels(plan)
    assert labels["nvidia.com/gpu.product"] == "NVIDIA-A100-SXM4-80GB"
    assert labels["nvidia.com/cuda.driver-version.full"] == "550.54.15"


def test_events_are_attributed_to_mig_devices_and_gpus(sysfs: Path, minors: Path) -> None:
    fake = a100_node()
    backend = NvmlBackend(fake, mig_minors=minors)
    assert backend.wait_events(0.01) == []
    assert fake.registered == [("GPU-aaaa", 0xA), ("GPU-bbbb", 0xA)]
    fake.events += [
        SimpleNamespace(
            device=("gpu", 0), eventType=0x8, eventData=43, gpuInstanceId=1, computeInstanceId=0
        ),
        SimpleNamespace(
            device=("gpu", 1),
            eventType=0x8,
            eventData=79,
            gpuInstanceId=NONE,
            computeInstanceId=NONE,
        ),
        SimpleNamespace(
            device=("gpu", 1),
            eventType=0x2,
            eventData=0,
            gpuInstanceId=NONE,
            computeInstanceId=NONE,
        ),
        NVMLError(999),
    ]
    got = [e for _ in range(4) for e in backend.wait_events(0.01)]
    assert got == [
        HealthEvent(EventKind.XID, "MIG-3g", code=43),
        HealthEvent(EventKind.XID, "GPU-bbbb", code=79),
        HealthEvent(EventKind.ECC_DBE, "GPU-bbbb"),
        HealthEvent(EventKind.LOST, None, reason="event wait failed: Error"),
    ]


def test_without_an_event_set_health_events_are_off(sysfs: Path, minors: Path) -> None:
    fake = a100_node()
    fake.nvmlEventSetCreate = lambda: (_ for _ in ()).throw(NVMLError(3))  # type: ignore[method-assign]
    backend = NvmlBackend(fake, mig_minors=minors)
    assert backend.wait_events(0.01) == [] and backend.wait_events(0.01) == []
    assert fake.registered == []
    backend.close()


def test_probe(sysfs: Path, minors: Path) -> None:
    fake = a100_node()
    backend = NvmlBackend(fake, mig_minors=minors)
    assert backend.probe("GPU-bbbb") and backend.probe("MIG-1g")
    fake.cards[1].remap_pending = True
    assert not backend.probe("GPU-bbbb")
    fake.cards[1].remap_pending = False
    fake.cards[1].retired_pending = 1
    assert not backend.probe("GPU-bbbb")
    assert not backend.probe("GPU-gone")
    backend.close()
    assert fake.shut_down


def test_without_a_driver_the_backend_says_so() -> None:
    with pytest.raises(BackendError) as caught:
        NvmlBackend(StandInNvml([], init_error=12))
    assert str(caught.value).startswith("NVML cannot start: NVML Shared Library Not Found")
    assert "--backend fake" in str(caught.value)
    with pytest.raises(BackendError, match="no GPU"):
        NvmlBackend(StandInNvml([]))


def test_without_nvidia_ml_py_the_backend_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)
    with pytest.raises(BackendError, match="needs nvidia-ml-py"):
        NvmlBackend()


def test_mig_memory_is_named_as_nvidia_names_it() -> None:
    """Every catalog profile's "Ngb" comes back from its memory and its GPU's."""
    checked = 0
    for model in all_models():
        for profile in model.mig_profiles:
            stated = int(profile.name.split("+")[0].split(".")[1].removesuffix("gb"))
            assert mig_memory_gb(profile.memory_mib, model.memory_mib * 1024**2) == stated
            checked += 1
    assert checked > 30


def test_the_last_xid_seen_on_the_event_stream_is_sampled(sysfs: Path, minors: Path) -> None:
    fake = a100_node()
    backend = NvmlBackend(fake, mig_minors=minors)
    fake.events.append(
        SimpleNamespace(
            device=("gpu", 0), eventType=0x8, eventData=43, gpuInstanceId=1, computeInstanceId=0
        )
    )
    backend.wait_events(0.01)
    # The stand-in has no telemetry calls: every reading is None except the recorded XIDs.
    readings = {s.uuid: s.last_xid for s in backend.sample()}
    assert readings == {
        "GPU-aaaa": 43, "MIG-3g": 43, "MIG-1g": None, "MIG-1gme": None, "GPU-bbbb": 0,
    }
