"""A GPU backend driven by a YAML inventory: GPUs from the catalog, MIG layouts, injected faults.

    node: gpu-node-0                 # optional; seeds the fake UUIDs, so they stay stable
    driverVersion: "550.54.15"       # optional
    cudaVersion: "12.4"              # optional: the CUDA version the driver supports
    gpus:
      - model: NVIDIA-A100-SXM4-80GB # a catalog product name or alias
        count: 2                     # optional, default 1
        numaNode: 0                  # optional
        mig: all-1g.10gb             # optional: MIG on, with this layout (mig-parted's names
                                     # or a list of profiles; [] is MIG on with no instances)
      - {model: NVIDIA-A100-SXM4-80GB, count: 2, numaNode: 1}
    faults:                          # optional: what is wrong right now
      - {gpu: 0, xid: 79}            # an XID on GPU 0 (the health policy decides if it counts)
      - {gpu: 2, mig: 1, fault: "stuck"}   # a fault on GPU 2's second MIG device

The file is watched while the backend runs: faults added to it are reported as events and
faults taken out of it as cleared, so an operator (or a test) can make a GPU sick and well
again by editing one file. `inject` and `clear` do the same from Python. The GPUs themselves
are read once. Telemetry readings come from `telemetry` (a `FakeTelemetry`), which tests load
with processes and pinned readings.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid as uuidlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gpuplane.catalog import GpuModel, lookup, pack
from gpuplane.catalog.labels import MIG_CONFIG_DISABLED
from gpuplane.catalog.mig import named_layout
from gpuplane.errors import InputError, Location
from gpuplane.limits import MAX_GPUS_PER_NODE
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
from gpuplane.node.fake_telemetry import FakeTelemetry
from gpuplane.objects.yaml_load import load_text
from gpuplane.objects.yamlio import Field

DEFAULT_DRIVER = "550.54.15"
DEFAULT_CUDA = (12, 4)
_NAMESPACE = uuidlib.UUID("6f1d8a52-5a8e-4c1e-9a43-2b0c3f9d7e10")
# Editors write a file in steps; checking its mtime this often is cheap and quick enough.
_RELOAD_EVERY = 0.05

log = logging.getLogger("gpuplane.node")


@dataclass(frozen=True)
class Fault:
    """One thing wrong with a GPU or MIG device: an XID, or a fault described in words."""

    uuid: str
    xid: int | None = None
    reason: str = ""

    def event(self) -> HealthEvent:
        if self.xid is not None:
            return HealthEvent(EventKind.XID, self.uuid, code=self.xid)
        return HealthEvent(EventKind.FAULT, self.uuid, reason=self.reason)


class FakeBackend(Backend):
    """GPUs that exist only in a YAML file."""

    name = "fake"

    def __init__(self, path: str | Path | None = None, *, text: str | None = None) -> None:
        if (path is None) == (text is None):
            raise ValueError("give the inventory as a path or as text, not both")
        self._path = Path(path) if path is not None else None
        source = str(self._path) if self._path else "<inventory>"
        if self._path is not None:
            try:
                text = self._path.read_text(encoding="utf-8")
                self._mtime = self._path.stat().st_mtime_ns
            except OSError as exc:
                raise BackendError(
                    f"cannot read the fake GPU inventory: {exc.strerror}",
                    where=Location(source),
                    hint="--inventory names a YAML file describing the node's GPUs",
                ) from None
        assert text is not None
        self._inventory, faults = parse_inventory(text, source)
        self.telemetry = FakeTelemetry(self._inventory)
        self._lock = threading.Condition()
        self._faults: set[Fault] = set()
        self._pending: list[HealthEvent] = []
        self._checked = 0.0
        with self._lock:
            self._set_faults(faults)

    # ------------------------------------------------------------------ Backend

    def inventory(self) -> Inventory:
        return self._inventory

    def wait_events(self, timeout: float) -> Sequence[HealthEvent]:
        deadline = time.monotonic() + max(0.0, timeout)
        with self._lock:
            while True:
                self._reload_if_changed()
                if self._pending:
                    events, self._pending = self._pending, []
                    return events
                left = deadline - time.monotonic()
                if left <= 0:
                    return []
                self._lock.wait(min(left, _RELOAD_EVERY) if self._path else left)

    def probe(self, uuid: str) -> bool:
        parents = self._inventory.parents()
        with self._lock:
            sick = {f.uuid for f in self._faults}
        return uuid not in sick and parents.get(uuid) not in sick

    def sample(self) -> Sequence[DeviceSample]:
        return self.telemetry.sample()

    # ------------------------------------------------------------- injection

    def inject(
        self, gpu: int, mig: int | None = None, *, xid: int | None = None, reason: str = ""
    ) -> HealthEvent:
        """Make a fault happen now on GPU `gpu` (or its `mig`-th MIG device)."""
        fault = Fault(self._uuid_of(gpu, mig), xid, reason or ("" if xid else "injected"))
        if xid is not None:
            self.telemetry.record_xid(fault.uuid, xid)
        with self._lock:
            self._faults.add(fault)
            self._pending.append(fault.event())
            self._lock.notify_all()
        return fault.event()

    def clear(self, gpu: int, mig: int | None = None) -> None:
        """Take away every fault on GPU `gpu` (or its `mig`-th MIG device)."""
        target = self._uuid_of(gpu, mig)
        with self._lock:
            if any(f.uuid == target for f in self._faults):
                self._faults = {f for f in self._faults if f.uuid != target}
                self._pending.append(HealthEvent(EventKind.CLEARED, target))
                self._lock.notify_all()

    def _uuid_of(self, gpu: int, mig: int | None) -> str:
        gpus = self._inventory.gpus
        if not 0 <= gpu < len(gpus):
            raise ValueError(f"no GPU {gpu}: the node has {len(gpus)}")
        if mig is None:
            return gpus[gpu].uuid
        devices = gpus[gpu].mig_devices
        if not 0 <= mig < len(devices):
            raise ValueError(f"no MIG device {mig} on GPU {gpu}: it has {len(devices)}")
        return devices[mig].uuid

    # ---------------------------------------------------------------- reloads

    def _reload_if_changed(self) -> None:
        now = time.monotonic()
        if self._path is None or now - self._checked < _RELOAD_EVERY:
            return
        self._checked = now
        try:
            mtime = self._path.stat().st_mtime_ns
            if mtime == self._mtime:
                return
            self._mtime = mtime
            text = self._path.read_text(encoding="utf-8")
            inventory, faults = parse_inventory(text, str(self._path))
        except (OSError, InputError) as exc:
            # A half-written or broken file must not take the agent down: keep the old faults.
            log.warning("fake inventory not reloaded: %s", exc)
            return
        if inventory.gpus != self._inventory.gpus:
            log.warning("fake inventory: only faults are reloaded; GPU changes need a restart")
        self._set_faults(faults)

    def _set_faults(self, faults: set[Fault]) -> None:
        added = faults - self._faults
        removed = self._faults - faults
        self._faults = set(faults)
        for fault in sorted(added, key=_fault_key):
            if fault.xid is not None:
                self.telemetry.record_xid(fault.uuid, fault.xid)
        self._pending += [f.event() for f in sorted(added, key=_fault_key)]
        still_sick = {f.uuid for f in self._faults}
        for gone in sorted({f.uuid for f in removed} - still_sick):
            self._pending.append(HealthEvent(EventKind.CLEARED, gone))
        if self._pending:
            self._lock.notify_all()


def _fault_key(fault: Fault) -> tuple[str, int, str]:
    return (fault.uuid, fault.xid or 0, fault.reason)


# ------------------------------------------------------------------------ parsing


def parse_inventory(text: str, source: str = "<inventory>") -> tuple[Inventory, set[Fault]]:
    """An inventory and its active faults from the YAML text; InputError names what is wrong."""
    documents = load_text(text, source)
    if len(documents) != 1:
        raise BackendError("a fake inventory is one YAML document", where=Location(source))
    root = documents[0].root()
    known = {"node", "driverVersion", "cudaVersion", "gpus", "faults"}
    for key, value in root.items():
        if key not in known:
            raise value.error(f"unknown field {key!r}", hint="fields: " + ", ".join(sorted(known)))
    node = root["node"].string("fake-node")
    driver = str(root["driverVersion"].value or DEFAULT_DRIVER)
    cuda = _cuda_version(root["cudaVersion"])
    gpus: list[Gpu] = []
    for entry in root["gpus"].each():
        gpus += _gpu_entry(entry, node, len(gpus))
        if len(gpus) > MAX_GPUS_PER_NODE:
            raise entry.error(f"more than {MAX_GPUS_PER_NODE} GPUs on one node")
    if not gpus:
        raise root["gpus"].error("list at least one GPU", hint="gpus: [{model: NVIDIA-L4}]")
    inventory = Inventory(tuple(gpus), driver, cuda)
    faults = {_fault(item, inventory) for item in root["faults"].each()}
    return inventory, faults


def _cuda_version(field: Field) -> tuple[int, int]:
    value = field.value
    if value is None:
        return DEFAULT_CUDA
    parts = str(value).split(".")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise field.error(f'must be MAJOR.MINOR, like "12.4", got {value!r}')
    return int(parts[0]), int(parts[1])


def _gpu_entry(entry: Field, node: str, first: int) -> list[Gpu]:
    known = {"model", "count", "numaNode", "mig"}
    for key, value in entry.items():
        if key not in known:
            raise value.error(f"unknown field {key!r}", hint="fields: " + ", ".join(sorted(known)))
    model_field = entry["model"]
    try:
        model = lookup(model_field.required_string(), where=model_field.where)
    except InputError as exc:
        raise exc.at(model_field.where) from None
    count = entry["count"].integer(1)
    if not 1 <= count <= MAX_GPUS_PER_NODE:
        raise entry["count"].error(f"must be from 1 to {MAX_GPUS_PER_NODE}, got {count}")
    numa = entry["numaNode"].optional_integer()
    layout = _mig_layout(entry["mig"], model)
    return [_gpu(node, first + i, model, numa, layout) for i in range(count)]


def _mig_layout(field: Field, model: GpuModel) -> tuple[tuple[str, int], ...] | None:
    if field.value is None or field.value == MIG_CONFIG_DISABLED:
        return None  # mig-parted's all-disabled: MIG mode off
    if not model.mig_capable:
        raise field.error(f"{model.product} is not MIG-capable")
    try:
        if isinstance(field.value, str):
            names: Sequence[str] = named_layout(model, field.value)
        else:
            names = [model.mig_profile(item.required_string()).name for item in field.each()]
    except InputError as exc:
        raise field.error(exc.message, exc.hint) from None
    placed = pack(model, names)
    if placed is None:
        raise field.error(f"MIG layout {list(names)} does not fit one {model.product}")
    # The driver lists MIG devices by placement; so does the fake.
    return tuple(sorted(placed, key=lambda p: p[1]))


def _fake_uuid(prefix: str, *parts: object) -> str:
    return f"{prefix}-{uuidlib.uuid5(_NAMESPACE, '/'.join(str(p) for p in parts))}"


def _gpu(
    node: str,
    index: int,
    model: GpuModel,
    numa: int | None,
    layout: tuple[tuple[str, int], ...] | None,
) -> Gpu:
    gpu_uuid = _fake_uuid("GPU", node, index)
    migs = []
    for gi, (name, start) in enumerate(layout or (), start=1):
        profile = model.mig_profile(name)
        migs.append(
            MigDevice(
                uuid=_fake_uuid("MIG", node, index, gi),
                profile=profile.name,
                start=start,
                gpu_instance=gi,
                compute_instance=0,
                memory_mib=profile.memory_mib,
                # Made-up but distinct minors, in the shape /proc/driver/nvidia-caps gives.
                gi_cap_minor=index * 200 + gi * 2 + 1,
                ci_cap_minor=index * 200 + gi * 2 + 2,
            )
        )
    return Gpu(
        index=index,
        uuid=gpu_uuid,
        # NVML names a GPU with spaces where GFD's product label has dashes.
        name=model.product.replace("-", " ", 1),
        memory_mib=model.memory_mib,
        compute_capability=model.compute_capability,
        pci_bus_id=f"00000000:{0x10 + index:02X}:00.0",
        minor=index,
        numa_node=numa,
        mig_capable=model.mig_capable,
        mig_enabled=layout is not None,
        mig_devices=tuple(migs),
    )


def _fault(item: Field, inventory: Inventory) -> Fault:
    known = {"gpu", "mig", "xid", "fault"}
    for key, value in item.items():
        if key not in known:
            raise value.error(f"unknown field {key!r}", hint="fields: " + ", ".join(sorted(known)))
    gpu_field = item["gpu"]
    index = gpu_field.optional_integer()
    if index is None or not 0 <= index < len(inventory.gpus):
        raise gpu_field.error(f"must be a GPU index from 0 to {len(inventory.gpus) - 1}")
    gpu = inventory.gpus[index]
    target = gpu.uuid
    mig = item["mig"].optional_integer()
    if mig is not None:
        if not 0 <= mig < len(gpu.mig_devices):
            raise item["mig"].error(f"GPU {index} has {len(gpu.mig_devices)} MIG devices")
        target = gpu.mig_devices[mig].uuid
    xid = item["xid"].optional_integer()
    reason = item["fault"].string()
    if (xid is None) == (not reason):
        raise item.error("give a fault either an xid or a fault: description, not both")
    return Fault(target, xid, reason)
