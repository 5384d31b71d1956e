"""The devices the scheduler chose for a pod, as the pod annotation that carries them.

The scheduler writes the annotation before it binds; the node agent reads it to answer the
kubelet's GetPreferredAllocation and Allocate with exactly those devices; a restarted scheduler
reads it back to rebuild what every bound pod holds. One codec here serves all three, so the
writer and the readers cannot drift apart.

The value is compact JSON, versioned so that a later format can still read an older one:

    {"v": 1, "node": "gpu-3", "gpus": [[2, 500, 40960], ...], "devices": ["gpu2::1", ...]}

`gpus` holds one (GPU index, milli-GPU, memory MiB) triple per device or fraction taken;
`devices` names the advertised devices (`gpuplane.sharing.Device.id`, parallel to `gpus`), and
is empty for fractions, which take shares of a GPU rather than devices.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from gpuplane.errors import InputError, Location

#: The pod annotation that carries a DeviceAssignment.
DEVICES_ANNOTATION = "gpuplane.io/devices"
FORMAT_VERSION = 1
#: No node has more GPU entries than this (a generous bound that keeps a hostile value small).
MAX_ENTRIES = 1024


@dataclass(frozen=True)
class DeviceAssignment:
    """Where a pod runs and which GPU shares and devices it holds there."""

    node: str
    gpus: tuple[int, ...] = ()
    gpu_milli: tuple[int, ...] = ()
    gpu_memory_mib: tuple[int, ...] = ()
    devices: tuple[str, ...] = ()

    def encode(self) -> str:
        """The annotation's value."""
        body = {
            "v": FORMAT_VERSION,
            "node": self.node,
            "gpus": [
                list(t) for t in zip(self.gpus, self.gpu_milli, self.gpu_memory_mib, strict=True)
            ],
            "devices": list(self.devices),
        }
        return json.dumps(body, separators=(",", ":"))


def decode_assignment(text: str, where: Location | None = None) -> DeviceAssignment:
    """Read an annotation value back; a malformed one is an InputError naming `where`."""
    where = (where or Location()).child(f"metadata.annotations[{DEVICES_ANNOTATION}]")

    def bad(why: str) -> InputError:
        return InputError(f"malformed device assignment: {why}", where=where)

    try:
        body = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise bad(f"not JSON ({exc})") from None
    if not isinstance(body, dict):
        raise bad("not a JSON object")
    if body.get("v") != FORMAT_VERSION:
        version = body.get("v")
        raise bad(f"unknown format version {version!r} (this gpuplane reads {FORMAT_VERSION})")
    node = body.get("node")
    if not isinstance(node, str) or not node:
        raise bad("no node name")
    gpus, devices = body.get("gpus", []), body.get("devices", [])
    if not isinstance(gpus, list) or not isinstance(devices, list):
        raise bad("gpus and devices must be lists")
    if len(gpus) > MAX_ENTRIES:
        raise bad(f"more than {MAX_ENTRIES} GPU entries")
    triples: list[tuple[int, int, int]] = []
    for entry in gpus:
        if (
            not isinstance(entry, list)
            or len(entry) != 3
            or not all(isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in entry)
        ):
            raise bad(f"GPU entry {entry!r} is not [index, milli, memory MiB] of whole numbers")
        triples.append((entry[0], entry[1], entry[2]))
    if not all(isinstance(d, str) and d for d in devices):
        raise bad("device ids must be non-empty strings")
    if devices and len(devices) != len(triples):
        raise bad(f"{len(devices)} devices for {len(triples)} GPU entries")
    return DeviceAssignment(
        node=node,
        gpus=tuple(t[0] for t in triples),
        gpu_milli=tuple(t[1] for t in triples),
        gpu_memory_mib=tuple(t[2] for t in triples),
        devices=tuple(devices),
    )


# ------------------------------------------------- the hand-over to the node agent's plugin

#: When the scheduler chose the pod's devices: RFC 3339 in UTC with microseconds, written with
#: DEVICES_ANNOTATION (or in the Binding's annotations). The kubelet's Allocate names no pod, so
#: the node agent gives a request to the pending pod bound longest ago (HAMi and Volcano match
#: by their bind-time annotations the same way).
BIND_TIME_ANNOTATION = "gpuplane.io/bind-time"
#: Written by the node agent once the kubelet has been given the pod's devices, so that no
#: later request of the same shape is matched to the pod again.
ALLOCATED_ANNOTATION = "gpuplane.io/allocated"
ALLOCATED = "true"


def encode_bind_time(when: datetime) -> str:
    """The bind-time annotation's value for an aware datetime."""
    if when.tzinfo is None:
        raise ValueError("bind time must carry a time zone")
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def decode_bind_time(text: str, where: Location | None = None) -> datetime:
    """Read a bind time (or any RFC 3339 time) back; a malformed one is an InputError."""
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        where = (where or Location()).child(f"metadata.annotations[{BIND_TIME_ANNOTATION}]")
        raise InputError(
            f"malformed bind time {text!r}: not an RFC 3339 time", where=where
        ) from None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)
