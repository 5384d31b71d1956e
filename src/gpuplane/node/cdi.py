"""Container Device Interface (CDI) specs for the node's GPUs and MIG devices.

One spec of kind nvidia.com/gpu names every device twice, as the NVIDIA tooling does: by
index ("0", and "0:1" for the second MIG device of GPU 0) and by UUID ("GPU-...", "MIG-..."),
plus "all" for every GPU. The agent's Allocate refers to devices by UUID
(nvidia.com/gpu=GPU-...), so a CDI-aware runtime finds them here.

Each device's container edits add its device nodes: /dev/nvidia<minor> for a GPU, and for a
MIG device its GPU's node plus the /dev/nvidia-caps nodes granting access to its GPU and
compute instance. Edits common to every device add the control nodes (/dev/nvidiactl,
/dev/nvidia-uvm, /dev/nvidia-uvm-tools) and set NVIDIA_VISIBLE_DEVICES=void, which keeps the
legacy NVIDIA runtime hook from injecting devices a second time. Driver libraries are not
listed: that is what `nvidia-ctk cdi generate` adds, and this spec does not replace it.

`cdiVersion` is the oldest version that has every feature the spec uses, derived by the CDI
library's own rules (specs-go MinimumRequiredVersion): device names starting with a digit ("0",
"0:1") and device nodes with a host path need 0.5.0. The CDI library refuses a spec that
declares an older version than its features need, so containerd and CRI-O would not find the
devices. `validate_spec` applies the library's checks (its schema's required fields, names,
version, container edits) and `write_spec` refuses to write a spec that fails them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from gpuplane.files import write_atomic
from gpuplane.node.allocate import CDI_KIND
from gpuplane.node.backend import Gpu, Inventory, MigDevice

#: Where CDI-aware runtimes look for specs that change at run time.
CDI_SPEC_DIR = "/var/run/cdi"
CONTROL_DEVICES = ("/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia-uvm-tools")
ALL = "all"
#: CDI spec versions, oldest first. The CDI library reads 0.3.0 and later.
VERSIONS = (
    *("0.1.0", "0.2.0", "0.3.0", "0.4.0", "0.5.0", "0.6.0", "0.7.0", "0.8.0"),
    *("1.0.0", "1.1.0"),
)
EARLIEST = "0.3.0"
#: The OCI hooks a CDI spec may name.
HOOK_NAMES = frozenset(
    {"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"}
)
# CDI's name rules (pkg/parser), ASCII only: vendor and class start with a letter and may hold
# '_', '-', '.' inside; device names may also start with a digit and hold ':'; all end in a
# letter or digit.
_VENDOR_OR_CLASS = re.compile(r"[A-Za-z]([A-Za-z0-9_.-]*[A-Za-z0-9])?")
_DEVICE_NAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9_.:-]*[A-Za-z0-9])?")
_NODE_TYPES = ("", "b", "c", "u", "p")


def cdi_spec(inventory: Inventory, kind: str = CDI_KIND, host_root: str = "") -> dict[str, Any]:
    """The CDI spec of the node's devices, as JSON-ready data.

    `host_root` prefixes device paths on the host side (for a node whose /dev is mounted
    elsewhere in the agent's container); empty means the same paths on both sides.
    """
    validate_kind(kind)
    devices: list[dict[str, Any]] = []
    for gpu in inventory.gpus:
        edits = _edits([gpu.device_path], host_root)
        devices += [_device(str(gpu.index), edits), _device(gpu.uuid, edits)]
        for position, mig in enumerate(gpu.mig_devices):
            edits = _edits(_mig_paths(gpu, mig), host_root)
            devices += [_device(f"{gpu.index}:{position}", edits), _device(mig.uuid, edits)]
    every = _edits([gpu.device_path for gpu in inventory.gpus], host_root)
    devices.append(_device(ALL, every))
    common = _edits(list(CONTROL_DEVICES), host_root)
    common["env"] = ["NVIDIA_VISIBLE_DEVICES=void"]
    spec: dict[str, Any] = {"kind": kind, "devices": devices, "containerEdits": common}
    return {"cdiVersion": minimum_version(spec), **spec}


def spec_file_name(kind: str = CDI_KIND) -> str:
    """The spec's file name in a CDI directory: gpuplane-<vendor>-<class>.json."""
    return "gpuplane-" + kind.replace("/", "-") + ".json"


def write_spec(spec: dict[str, Any], directory: str | Path) -> Path:
    """Write the spec into `directory` atomically, so a runtime never reads half of it.

    A spec the CDI library would refuse is not written (ValueError).
    """
    validate_spec(spec)
    text = json.dumps(spec, indent=2, sort_keys=False) + "\n"
    return write_atomic(Path(directory) / spec_file_name(str(spec["kind"])), text)


def _mig_paths(gpu: Gpu, mig: MigDevice) -> list[str]:
    paths = [gpu.device_path]
    for minor in (mig.gi_cap_minor, mig.ci_cap_minor):
        if minor is not None:
            paths.append(f"/dev/nvidia-caps/nvidia-cap{minor}")
    return paths


def _device(name: str, edits: dict[str, Any]) -> dict[str, Any]:
    validate_device_name(name)
    return {"name": name, "containerEdits": edits}


def _edits(paths: list[str], host_root: str) -> dict[str, Any]:
    nodes: list[dict[str, Any]] = []
    for path in paths:
        node: dict[str, Any] = {"path": path}
        if host_root:
            node["hostPath"] = host_root.rstrip("/") + path
        nodes.append(node)
    return {"deviceNodes": nodes}


def minimum_version(spec: Mapping[str, Any]) -> str:
    """The oldest cdiVersion that has every feature `spec` uses, by the CDI library's rules."""
    devices = list(spec.get("devices") or [])
    edits = [spec.get("containerEdits") or {}, *(d.get("containerEdits") or {} for d in devices)]
    rdts = [e["intelRdt"] for e in edits if e.get("intelRdt") is not None]
    if any(e.get("netDevices") for e in edits) or any(
        r.get("schemata") is not None or r.get("enableMonitoring") for r in rdts
    ):
        return "1.1.0"
    if rdts or any(e.get("additionalGids") for e in edits):
        return "0.7.0"
    _, slash, klass = str(spec.get("kind", "")).partition("/")
    dotted_class = bool(slash) and "." in klass
    if spec.get("annotations") or any(d.get("annotations") for d in devices) or dotted_class:
        return "0.6.0"
    digit_name = any(str(d.get("name", ""))[:1] in tuple("0123456789") for d in devices)
    if digit_name or any(n.get("hostPath") for n in _each(edits, "deviceNodes")):
        return "0.5.0"
    if any(m.get("type") for m in _each(edits, "mounts")):
        return "0.4.0"
    return EARLIEST


def validate_version(spec: Mapping[str, Any]) -> None:
    """Refuse an unknown cdiVersion, or one older than the spec's features need."""
    declared = str(spec.get("cdiVersion", ""))
    version = declared.removeprefix("v")
    if version not in VERSIONS:
        raise ValueError(f'invalid version "{declared}": CDI knows {", ".join(VERSIONS)}')
    needed = minimum_version(spec)
    if VERSIONS.index(version) < VERSIONS.index(needed):
        raise ValueError(f"the spec version must be at least v{needed} for its features")


def validate_kind(kind: str) -> None:
    """Refuse a kind that is not vendor/class by CDI's name rules ("nvidia.com/gpu")."""
    vendor, klass = _split_kind(kind)
    for what, name in (("vendor", vendor), ("class", klass)):
        if not _VENDOR_OR_CLASS.fullmatch(name):
            raise ValueError(f"CDI kind {kind!r}: invalid {what} {name!r}")


def validate_device_name(name: str) -> None:
    """Refuse a device name outside CDI's rules (letters, digits, '_-.:' inside)."""
    if not _DEVICE_NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not a valid CDI device name")


def validate_spec(spec: Mapping[str, Any]) -> None:
    """Refuse a spec the CDI library would refuse to load (its schema's and pkg/cdi's checks)."""
    for key in ("cdiVersion", "kind", "devices"):
        if key not in spec:
            raise ValueError(f"CDI spec has no {key!r}")
    validate_version(spec)
    validate_kind(str(spec["kind"]))
    validate_edits(spec.get("containerEdits") or {})
    if not spec["devices"]:
        raise ValueError("CDI spec has no devices")
    seen: set[str] = set()
    for device in spec["devices"]:
        name = str(device.get("name", ""))
        validate_device_name(name)
        edits = device.get("containerEdits") or {}
        if not any(edits.get(key) for key in _EDIT_LISTS) and edits.get("intelRdt") is None:
            raise ValueError(f"CDI device {name!r} has no container edits")
        validate_edits(edits)
        if name in seen:
            raise ValueError(f"CDI spec names device {name!r} twice")
        seen.add(name)


_EDIT_LISTS = ("env", "deviceNodes", "hooks", "mounts", "additionalGids", "netDevices")


def validate_edits(edits: Mapping[str, Any]) -> None:
    """Refuse container edits the CDI library would refuse to apply."""
    _check_env(edits.get("env") or [])
    for node in edits.get("deviceNodes") or []:
        path, permissions = node.get("path", ""), node.get("permissions", "")
        if not path:
            raise ValueError("CDI device node without a path")
        if node.get("type", "") not in _NODE_TYPES:
            raise ValueError(f"CDI device node {path!r}: invalid type {node['type']!r}")
        if permissions != "none" and permissions.strip("rwm"):
            raise ValueError(f"CDI device node {path!r}: invalid permissions {permissions!r}")
    for hook in edits.get("hooks") or []:
        if hook.get("hookName") not in HOOK_NAMES:
            raise ValueError(f"invalid CDI hook name {hook.get('hookName')!r}")
        if not hook.get("path"):
            raise ValueError(f"CDI hook {hook['hookName']!r} without a path")
        _check_env(hook.get("env") or [])
    for mount in edits.get("mounts") or []:
        if not mount.get("hostPath") or not mount.get("containerPath"):
            raise ValueError(f"CDI mount {mount!r} lacks a host or a container path")
    rdt = edits.get("intelRdt")
    if rdt is not None:
        clos = str(rdt.get("closID", ""))
        if clos != "/" and (len(clos) >= 4096 or clos in (".", "..") or set(clos) & {"/", "\n"}):
            raise ValueError(f"invalid Intel RDT closID {clos!r}")
    hosts: set[str] = set()
    names: set[str] = set()
    for net in edits.get("netDevices") or []:
        host, name = net.get("hostInterfaceName", ""), net.get("name", "")
        if not host or not name:
            raise ValueError(f"CDI net device {net!r} lacks a host or a container name")
        if host in hosts or name in names:
            raise ValueError(f"CDI net device {host!r} -> {name!r} repeats an interface")
        hosts.add(host)
        names.add(name)


def _check_env(env: list[str]) -> None:
    for variable in env:
        if variable.find("=") <= 0:
            raise ValueError(f"invalid environment variable {variable!r} in CDI edits")


def _split_kind(kind: str) -> tuple[str, str]:
    """vendor and class, as the CDI parser splits them (no vendor when either side is empty)."""
    vendor, slash, klass = kind.partition("/")
    return (vendor, klass) if slash and vendor and klass else ("", kind)


def _each(edits: list[Mapping[str, Any]], key: str) -> Iterator[Mapping[str, Any]]:
    for edit in edits:
        yield from edit.get(key) or []
