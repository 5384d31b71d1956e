"""The node agent's sharing config: the NVIDIA device plugin's config file, read as the plugin does.

    version: v1
    flags: {migStrategy: mixed}            # none | single | mixed
    sharing:
      timeSlicing:                          # or mps
        renameByDefault: false
        failRequestsGreaterThanOne: false
        resources: [{name: nvidia.com/gpu, replicas: 4, devices: all}]

It is the same file the GPU Operator mounts from the device plugin's ConfigMap, so a node moves
from the NVIDIA plugin to gpuplane's agent without a new config. It is read with the reader
the scheduler uses for those ConfigMaps (`gpuplane.objects.read_configmap`), so both read it
the same way. On a node, unlike in a simulated cluster, `devices` may name GPUs by UUID
(`gpuplane.sharing.plugin_apply.resolve_uuids`).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from gpuplane.errors import InputError, Location
from gpuplane.objects.read_configmap import read_device_plugin_configmap
from gpuplane.objects.yamlio import Field, YamlMap
from gpuplane.sharing import DevicePluginConfig

_KEY = "config"


def load_config(path: str | Path) -> DevicePluginConfig:
    """Read a device plugin config file; InputError names the file, line and field at fault."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise InputError(
            f"cannot read the device plugin config: {reason}", where=Location(name)
        ) from None
    return parse_config(text, name)


def parse_config(text: str, file: str = "<config>") -> DevicePluginConfig:
    """A device plugin config from its YAML text."""
    # The ConfigMap reader takes each data value as one config file; hand it this one so,
    # lines counted from the file's first line.
    data = YamlMap(1)
    data[_KEY] = text
    data.key_lines[_KEY] = 1
    data.value_lines[_KEY] = 1
    metadata = YamlMap(1)
    metadata["name"] = Path(file).name or _KEY
    metadata.key_lines["name"] = 1
    root = YamlMap(1)
    root["metadata"], root["data"] = metadata, data
    root.key_lines.update({"metadata": 1, "data": 1})
    try:
        configmap = read_device_plugin_configmap(Field(root, Location(file)))
    except InputError as exc:
        # Errors name fields below data.config; in a plain file they start at the top.
        if exc.where is not None and exc.where.field:
            field = exc.where.field.removeprefix(f"data.{_KEY}").removeprefix(".") or None
            exc.where = replace(exc.where, field=field)
        raise
    return configmap.configs[_KEY]

