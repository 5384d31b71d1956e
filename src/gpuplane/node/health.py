"""Device health: which raw events make a GPU unhealthy, and when it counts as well again.

The XID policy is the NVIDIA device plugin's (k8s-device-plugin, internal/rm/health.go): every
critical XID marks the device unhealthy except the ones that report an application's own
error and leave the GPU fine, namely

    13  graphics engine exception         43  GPU stopped processing
    31  GPU memory page fault             45  preemptive cleanup after earlier errors
    68  video processor exception        109  context switch timeout

and the same environment variables tune it: DP_DISABLE_HEALTHCHECKS ("all", or a comma list
of XIDs to ignore as well) and DP_ENABLE_HEALTHCHECKS (XIDs to act on even so; "all" acts on
every one, the list above included).

Unlike the NVIDIA plugin, whose devices never come back, a device recovers here: an injected
fault when it is cleared, and an XID, ECC error or lost device once `hold_down` seconds have
passed without a new one and the backend's probe finds the device answering with nothing
pending (no retired pages or remapped rows waiting for a reset).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from gpuplane.node.backend import EventKind, HealthEvent

#: XIDs the NVIDIA device plugin ignores: application errors that leave the GPU healthy.
IGNORED_XIDS = frozenset({13, 31, 43, 45, 68, 109})
DISABLE_ENV = "DP_DISABLE_HEALTHCHECKS"
ENABLE_ENV = "DP_ENABLE_HEALTHCHECKS"
#: Seconds without a new error before the probe may call a device healthy again.
DEFAULT_HOLD_DOWN = 60.0
_ALL = ("all", "xids")


@dataclass(frozen=True)
class XidPolicy:
    """Which XIDs to act on."""

    ignored: frozenset[int] = IGNORED_XIDS
    ignore_all: bool = False
    #: Acted on even when ignored above; with `enable_all`, every XID is.
    enabled: frozenset[int] = frozenset()
    enable_all: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> XidPolicy:
        """The policy the device plugin's environment variables ask for."""
        ignored, ignore_all = _xids(env.get(DISABLE_ENV, ""))
        enabled, enable_all = _xids(env.get(ENABLE_ENV, ""))
        return cls(IGNORED_XIDS | ignored, ignore_all, enabled, enable_all)

    def is_fatal(self, xid: int) -> bool:
        """Whether XID `xid` makes the device unhealthy."""
        if self.enable_all or xid in self.enabled:
            return True
        return not (self.ignore_all or xid in self.ignored)

    @property
    def checks_off(self) -> bool:
        """Whether no XID at all is acted on."""
        return self.ignore_all and not (self.enable_all or self.enabled)


def _xids(text: str) -> tuple[frozenset[int], bool]:
    values: set[int] = set()
    for part in text.lower().split(","):
        part = part.strip()
        if part in _ALL:
            return frozenset(), True
        # The plugin skips values that are not numbers; so does this.
        if part.isdigit():
            values.add(int(part))
    return frozenset(values), False


@dataclass(frozen=True)
class Change:
    """A device whose health changed, and why."""

    uuid: str
    healthy: bool
    reason: str


@dataclass
class _Mark:
    reason: str
    since: float
    #: False for injected faults: only clearing them heals the device.
    probe_heals: bool


@dataclass
class HealthTracker:
    """The health of a node's GPUs and MIG devices, fed with raw events.

    `devices` lists every GPU and MIG UUID the node serves; `parents` maps a MIG UUID to its
    GPU's, so that a GPU's trouble reaches its MIG devices. Not thread-safe: one thread feeds
    it, and readers take `unhealthy()` snapshots.
    """

    policy: XidPolicy
    devices: Iterable[str]
    parents: Mapping[str, str] = field(default_factory=dict)
    hold_down: float = DEFAULT_HOLD_DOWN
    _known: frozenset[str] = field(init=False)
    _marks: dict[str, _Mark] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self._known = frozenset(self.devices) | frozenset(self.parents)

    def apply(self, events: Sequence[HealthEvent], now: float) -> tuple[list[Change], list[str]]:
        """Take in events; return the changes they made and notes on events left aside."""
        changes: list[Change] = []
        notes: list[str] = []
        for event in events:
            targets = self._targets(event)
            if targets is None:
                notes.append(f"ignored {event.describe()}: not a device of this node")
                continue
            if event.kind is EventKind.XID and not self.policy.is_fatal(event.code or 0):
                notes.append(f"ignored {event.describe()}: an application error, GPU healthy")
                continue
            if event.kind is EventKind.CLEARED:
                changes += [c for uuid in targets if (c := self._heal(uuid, "fault cleared"))]
                continue
            probe_heals = event.kind is not EventKind.FAULT
            for uuid in targets:
                change = self._mark(uuid, event.describe(), now, probe_heals)
                if change is not None:
                    changes.append(change)
        return changes, notes

    def recover(self, probe: Callable[[str], bool], now: float) -> list[Change]:
        """Heal devices quiet for `hold_down` seconds whose probe now passes."""
        changes = []
        for uuid, mark in sorted(self._marks.items()):
            if mark.probe_heals and now - mark.since >= self.hold_down and probe(uuid):
                change = self._heal(uuid, f"recovered after {mark.reason}")
                if change is not None:
                    changes.append(change)
        return changes

    def healthy(self, uuid: str) -> bool:
        """Whether `uuid` is healthy: neither it nor the GPU holding it is marked."""
        parent = self.parents.get(uuid)
        return uuid not in self._marks and (parent is None or parent not in self._marks)

    def unhealthy(self) -> frozenset[str]:
        """The UUIDs marked unhealthy themselves (their MIG devices are unhealthy too)."""
        return frozenset(self._marks)

    def reason(self, uuid: str) -> str | None:
        """Why `uuid` (or its GPU) is unhealthy, or None."""
        mark = self._marks.get(uuid) or self._marks.get(self.parents.get(uuid, ""))
        return mark.reason if mark else None

    def _targets(self, event: HealthEvent) -> list[str] | None:
        if event.uuid is None:
            # Everything at once: the physical GPUs, which takes their MIG devices along.
            gpus = sorted(self._known - set(self.parents))
            return gpus
        return [event.uuid] if event.uuid in self._known else None

    def _mark(self, uuid: str, reason: str, now: float, probe_heals: bool) -> Change | None:
        mark = self._marks.get(uuid)
        if mark is not None:
            # A new error restarts the quiet period; a fault stays a fault.
            mark.since, mark.reason = now, reason
            mark.probe_heals = mark.probe_heals and probe_heals
            return None
        self._marks[uuid] = _Mark(reason, now, probe_heals)
        return Change(uuid, False, reason)

    def _heal(self, uuid: str, reason: str) -> Change | None:
        if self._marks.pop(uuid, None) is None:
            return None
        return Change(uuid, True, reason)
