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

`cdiVersion` is the oldest version that has every feature used: 0.3.0, or 0.5.0 once device
nodes name a host path different from their container path.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from gpuplane.node.allocate import CDI_KIND
from gpuplane.node.backend import Gpu, Inventory, MigDevice
from gpuplane.node.files import write_atomic

#: Where CDI-aware runtimes look for specs that change at run time.
CDI_SPEC_DIR = "/var/run/cdi"
CONTROL_DEVICES = ("/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia-uvm-tools")
ALL = "all"
# CDI's device name rule: letters, digits, '_', '-', '.', ':' inside; alphanumeric at the ends.
_DEVICE_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_.:-]*[A-Za-z0-9])?$")
_KIND = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*[A-Za-z0-9]/[A-Za-z][A-Za-z0-9_.-]*[A-Za-z0-9]$")


def cdi_spec(inventory: Inventory, kind: str = CDI_KIND, host_root: str = "") -> dict[str, Any]:
    """The CDI spec of the node's devices, as JSON-ready data.

    `host_root` prefixes device paths on the host side (for a node whose /dev is mounted
    elsewhere in the agent's container); empty means the same paths on both sides.
    """
    if not _KIND.match(kind):
        raise ValueError(f"CDI kind {kind!r} is not vendor.com/class")
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
    uses_host_path = any(
        "hostPath" in node
        for edits in [common, *(d["containerEdits"] for d in devices)]
        for node in edits.get("deviceNodes", [])
    )
    return {
        "cdiVersion": "0.5.0" if uses_host_path else "0.3.0",
        "kind": kind,
        "devices": devices,
        "containerEdits": common,
    }


def spec_file_name(kind: str = CDI_KIND) -> str:
    """The spec's file name in a CDI directory: gpuplane-<vendor>-<class>.json."""
    return "gpuplane-" + kind.replace("/", "-") + ".json"


def write_spec(spec: dict[str, Any], directory: str | Path) -> Path:
    """Write the spec into `directory` atomically, so a runtime never reads half of it."""
    text = json.dumps(spec, indent=2, sort_keys=False) + "\n"
    return write_atomic(Path(directory) / spec_file_name(str(spec["kind"])), text)


def _mig_paths(gpu: Gpu, mig: MigDevice) -> list[str]:
    paths = [gpu.device_path]
    for minor in (mig.gi_cap_minor, mig.ci_cap_minor):
        if minor is not None:
            paths.append(f"/dev/nvidia-caps/nvidia-cap{minor}")
    return paths


def _device(name: str, edits: dict[str, Any]) -> dict[str, Any]:
    if not _DEVICE_NAME.match(name):
        raise ValueError(f"{name!r} is not a valid CDI device name")
    return {"name": name, "containerEdits": edits}


def _edits(paths: list[str], host_root: str) -> dict[str, Any]:
    nodes: list[dict[str, Any]] = []
    for path in paths:
        node: dict[str, Any] = {"path": path}
        if host_root:
            node["hostPath"] = host_root.rstrip("/") + path
        nodes.append(node)
    return {"deviceNodes": nodes}
