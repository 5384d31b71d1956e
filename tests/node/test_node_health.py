"""The XID policy, the health tracker, and faults injected into the fake backend."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from gpuplane.node import FakeBackend, HealthTracker, XidPolicy
from gpuplane.node.backend import EventKind, HealthEvent
from gpuplane.node.health import IGNORED_XIDS
from node_helpers import A100, mig_inventory


def test_the_nvidia_plugins_application_xids_are_ignored() -> None:
    policy = XidPolicy()
    assert frozenset({13, 31, 43, 45, 68, 109}) == IGNORED_XIDS
    assert not any(policy.is_fatal(x) for x in IGNORED_XIDS)
    assert all(policy.is_fatal(x) for x in (48, 63, 64, 74, 79, 92, 94, 95, 119))


def test_policy_from_the_plugins_environment_variables() -> None:
    policy = XidPolicy.from_env({"DP_DISABLE_HEALTHCHECKS": "79, 48,junk"})
    assert not policy.is_fatal(79) and not policy.is_fatal(48) and policy.is_fatal(94)
    off = XidPolicy.from_env({"DP_DISABLE_HEALTHCHECKS": "all"})
    assert off.checks_off and not off.is_fatal(79)
    some = XidPolicy.from_env({"DP_DISABLE_HEALTHCHECKS": "xids", "DP_ENABLE_HEALTHCHECKS": "79"})
    assert some.is_fatal(79) and not some.is_fatal(48) and not some.checks_off
    every = XidPolicy.from_env({"DP_ENABLE_HEALTHCHECKS": "all"})
    assert every.is_fatal(13)


def tracker(hold_down: float = 10.0) -> HealthTracker:
    return HealthTracker(
        XidPolicy(), ["GPU-a", "GPU-b", "MIG-a1"], {"MIG-a1": "GPU-a"}, hold_down=hold_down
    )


def test_fatal_xid_marks_the_gpu_and_its_mig_devices() -> None:
    t = tracker()
    changes, notes = t.apply([HealthEvent(EventKind.XID, "GPU-a", code=79)], now=0.0)
    assert [(c.uuid, c.healthy) for c in changes] == [("GPU-a", False)]
    assert not t.healthy("GPU-a") and not t.healthy("MIG-a1") and t.healthy("GPU-b")
    assert notes == []
    assert t.reason("MIG-a1") == "XID 79 on GPU-a"


def test_ignored_xid_and_unknown_devices_change_nothing() -> None:
    t = tracker()
    changes, notes = t.apply(
        [
            HealthEvent(EventKind.XID, "GPU-a", code=13),
            HealthEvent(EventKind.XID, "GPU-z", code=79),
        ],
        now=0.0,
    )
    assert changes == [] and len(notes) == 2
    assert t.unhealthy() == frozenset()


def test_probe_heals_after_the_hold_down_only() -> None:
    t = tracker(hold_down=10.0)
    t.apply([HealthEvent(EventKind.ECC_DBE, "GPU-b")], now=0.0)
    assert t.recover(lambda uuid: True, now=5.0) == []
    # A new error restarts the quiet period.
    t.apply([HealthEvent(EventKind.XID, "GPU-b", code=48)], now=5.0)
    assert t.recover(lambda uuid: True, now=12.0) == []
    assert t.recover(lambda uuid: False, now=16.0) == []
    healed = t.recover(lambda uuid: True, now=16.0)
    assert [(c.uuid, c.healthy) for c in healed] == [("GPU-b", True)]


def test_faults_heal_only_when_cleared() -> None:
    t = tracker(hold_down=0.0)
    t.apply([HealthEvent(EventKind.FAULT, "MIG-a1", reason="stuck")], now=0.0)
    assert not t.healthy("MIG-a1") and t.healthy("GPU-a")
    assert t.recover(lambda uuid: True, now=100.0) == []
    changes, _ = t.apply([HealthEvent(EventKind.CLEARED, "MIG-a1")], now=100.0)
    assert [(c.uuid, c.healthy) for c in changes] == [("MIG-a1", True)]


def test_lost_without_a_device_marks_every_gpu() -> None:
    t = tracker()
    changes, _ = t.apply([HealthEvent(EventKind.LOST, None)], now=0.0)
    assert {c.uuid for c in changes} == {"GPU-a", "GPU-b"}
    assert not t.healthy("MIG-a1")


# ------------------------------------------------------------------- fake backend


def test_inject_and_clear_report_events() -> None:
    backend = FakeBackend(text=mig_inventory("all-1g.10gb", 1))
    assert backend.wait_events(0.0) == []
    event = backend.inject(0, 2, xid=79)
    mig = backend.inventory().gpus[0].mig_devices[2].uuid
    assert event == HealthEvent(EventKind.XID, mig, code=79)
    assert backend.wait_events(1.0) == [event]
    assert not backend.probe(mig) and backend.probe(backend.inventory().gpus[0].uuid)
    backend.clear(0, 2)
    assert backend.wait_events(1.0) == [HealthEvent(EventKind.CLEARED, mig)]
    assert backend.probe(mig)


def test_faults_in_the_inventory_file_come_and_go(tmp_path: Path) -> None:
    path = tmp_path / "inventory.yaml"
    base = f"gpus: [{{model: {A100}, count: 2}}]\n"
    path.write_text(base + "faults: [{gpu: 1, fault: overheating}]\n")
    backend = FakeBackend(path)
    gpu1 = backend.inventory().gpus[1].uuid
    assert backend.wait_events(0.0) == [HealthEvent(EventKind.FAULT, gpu1, reason="overheating")]
    # Editing the file ends the fault and starts another one.
    time.sleep(0.01)
    path.write_text(base + "faults: [{gpu: 0, xid: 43}]\n")
    _touch_later(path)
    events = _collect(backend, 2)
    gpu0 = backend.inventory().gpus[0].uuid
    assert HealthEvent(EventKind.XID, gpu0, code=43) in events
    assert HealthEvent(EventKind.CLEARED, gpu1) in events
    # A broken edit keeps the faults there were.
    path.write_text(base + "faults: [{gpu: 9, xid: 43}]\n")
    _touch_later(path)
    assert backend.wait_events(0.3) == []
    assert not backend.probe(gpu0)


def _touch_later(path: Path) -> None:
    # Some file systems keep mtimes coarse; move it forward so the change is seen.
    stat = path.stat()
    bump = stat.st_mtime_ns + 10_000_000
    os.utime(path, ns=(bump, bump))


def _collect(backend: FakeBackend, count: int, timeout: float = 3.0) -> list[HealthEvent]:
    events: list[HealthEvent] = []
    deadline = time.monotonic() + timeout
    while len(events) < count and time.monotonic() < deadline:
        events += backend.wait_events(0.2)
    return events


def test_inject_checks_its_target() -> None:
    backend = FakeBackend(text="gpus: [{model: NVIDIA-L4}]")
    with pytest.raises(ValueError, match="no GPU 3"):
        backend.inject(3, xid=79)
    with pytest.raises(ValueError, match="no MIG device"):
        backend.inject(0, 0, xid=79)
