"""Reading the NVIDIA device plugin's ConfigMap: named configs for time-slicing, MPS and MIG.

Each data value is a device plugin config file, as the plugin's `config.map` holds them:

    version: v1
    flags: {migStrategy: none}
    sharing:
      timeSlicing:            # or mps
        renameByDefault: false
        failRequestsGreaterThanOne: false
        resources: [{name: nvidia.com/gpu, replicas: 4, rename: ..., devices: all}]

A ConfigMap is taken for one of these by its content, since its name is the user's choice.
Each value is checked as the plugin checks it when it loads (replicas >= 2, resource names,
device references), and `rename` and `devices`, which the plugin clears on loading, are
ignored with a warning (`gpuplane.sharing.plugin_config.without_unsupported`).
"""

from __future__ import annotations

from dataclasses import replace

from gpuplane.errors import InputError, Location
from gpuplane.limits import MAX_REPLICAS
from gpuplane.objects.yaml_load import load_text
from gpuplane.objects.yamlio import Field, Warn, YamlMap
from gpuplane.sharing import (
    DevicePluginConfig,
    DevicePluginConfigMap,
    ReplicatedResource,
    SharingConfig,
)
from gpuplane.sharing.plugin_config import device_ref_kind, resource_name, without_unsupported

VERSION = "v1"
_MIG_STRATEGIES = ("none", "single", "mixed")


def _parse_value(value: Field) -> Field | None:
    """A data value parsed as YAML and located inside the ConfigMap, or None if not YAML."""
    if not isinstance(value.value, str):
        return None
    first_line = value.content_line or value.where.line or 1
    try:
        documents = load_text(value.value, value.where.file or "<string>", first_line=first_line)
    except InputError as exc:
        # The embedded text knows its line but not which data key it is.
        if exc.where is not None:
            exc.where = replace(exc.where, field=value.where.field)
        raise
    if len(documents) != 1:
        return None
    body = documents[0].body
    return Field(body, Location(value.where.file, documents[0].line, value.where.field))


def _looks_like_config(parsed: Field | None) -> bool:
    if parsed is None or not isinstance(parsed.value, YamlMap):
        return False
    body = parsed.value
    return body.get("version") == VERSION and ("sharing" in body or "flags" in body)


def is_device_plugin_configmap(root: Field) -> bool:
    """Whether any data value is a device plugin config (version v1 with sharing or flags)."""
    for _, value in root["data"].items():
        try:
            if _looks_like_config(_parse_value(value)):
                return True
        except InputError:
            # A value that is not YAML says nothing about the map; other values may still match.
            continue
    return False


def read_device_plugin_configmap(root: Field, warn: Warn | None = None) -> DevicePluginConfigMap:
    """Every data value of a device plugin ConfigMap, each a named config, as the plugin loads it.

    What the plugin would ignore is said to `warn` and kept in each config's `warnings`.
    """
    metadata = root["metadata"]
    configs = {}
    for key, value in root["data"].items():
        parsed = _parse_value(value)
        if parsed is None:
            raise value.error("must hold one device plugin config as YAML (version: v1, ...)")
        configs[key] = without_unsupported(_config(key, parsed))
        for message in configs[key].warnings:
            if warn is not None:
                warn(parsed.where, f"device plugin config {key!r}: {message}")
    return DevicePluginConfigMap(
        name=metadata["name"].required_string(),
        namespace=metadata["namespace"].string() or "default",
        configs=configs,
        source=root.where,
    )


def _config(name: str, body: Field) -> DevicePluginConfig:
    version_field = body["version"]
    # The plugin takes a missing version as v1.
    version = version_field.string() or VERSION
    if version != VERSION:
        raise version_field.error(f"unknown version {version!r}: the device plugin reads v1")
    strategy_field = body["flags"]["migStrategy"]
    strategy = strategy_field.string() or "none"
    if strategy not in _MIG_STRATEGIES:
        raise strategy_field.error(
            f"unsupported migStrategy {strategy!r}: supported values: none, single, mixed"
        )
    sharing = body["sharing"]
    time_slicing, mps = sharing["timeSlicing"], sharing["mps"]
    return DevicePluginConfig(
        name=name,
        mig_strategy=strategy,
        time_slicing=_sharing(time_slicing) if time_slicing.present else None,
        mps=_sharing(mps, fail_default=True) if mps.present else None,
    )


def _sharing(field: Field, *, fail_default: bool = False) -> SharingConfig:
    rename_by_default = field["renameByDefault"].boolean(False)
    resources_field = field["resources"]
    resources = tuple(_replicated(item, rename_by_default) for item in resources_field.each())
    if not resources:
        raise resources_field.error("no resources specified")
    return SharingConfig(
        resources=resources,
        rename_by_default=rename_by_default,
        # Newer plugins keep failing MPS requests above one unless told otherwise.
        fail_requests_greater_than_one=field["failRequestsGreaterThanOne"].boolean(fail_default),
    )


def _name(field: Field, text: str) -> str:
    try:
        return resource_name(text)
    except ValueError as exc:
        raise field.error(str(exc)) from None


def _replicated(item: Field, rename_by_default: bool) -> ReplicatedResource:
    name = _name(item["name"], item["name"].required_string())
    replicas_field = item["replicas"]
    replicas = replicas_field.optional_integer()
    if replicas is None:
        raise replicas_field.error("no replicas specified")
    if replicas < 2:
        # Time-slicing and MPS alike: one replica would be no sharing at all.
        raise replicas_field.error(f"number of replicas must be >= 2, got {replicas}")
    if replicas > MAX_REPLICAS:
        raise replicas_field.error(
            f"must be at most {MAX_REPLICAS:,} replicas, got {replicas:.3g}",
            hint="see docs/limits.md",
        )
    rename_text = item["rename"].optional_string()
    rename = _name(item["rename"], rename_text) if rename_text else None
    if rename is None and rename_by_default:
        # What the plugin advertises then: <name>.shared.
        rename = f"{name}.shared"
    return ReplicatedResource(
        name=name, replicas=replicas, rename=rename, devices=_devices(item["devices"])
    )


def _devices(field: Field) -> str | int | tuple[str, ...]:
    value = field.value
    if value is None or value == "all":
        return "all"
    if isinstance(value, str):
        raise field.error(f"devices set as {value!r} but the only valid string input is 'all'")
    if isinstance(value, int) and not isinstance(value, bool):
        if value <= 0:
            raise field.error(f"a count of devices must be > 0, got {value}")
        return value
    refs = []
    for item in field.each():
        ref = item.value
        if isinstance(ref, int) and not isinstance(ref, bool) and ref >= 0:
            refs.append(str(ref))
        elif isinstance(ref, str) and device_ref_kind(ref) is not None:
            refs.append(ref)
        else:
            raise item.error(
                f"unsupported device {ref!r}: use a GPU index, a MIG index (0:1) or a UUID"
            )
    return tuple(refs)
