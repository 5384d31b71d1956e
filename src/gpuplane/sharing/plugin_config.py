"""The NVIDIA device plugin's config (the ConfigMap users write for time-slicing, MPS and MIG).

Besides the model, the rules the plugin applies when it loads a config (api/config/v1):
resource names (`resource_name`), device references (`device_ref_kind`), and the fields it
accepts but does not support yet and clears (`without_unsupported`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

from gpuplane.errors import Location

#: The plugin's prefix for a bare name, and what renameByDefault appends.
RESOURCE_PREFIX = "nvidia.com/"
SHARED_SUFFIX = ".shared"
MAX_RESOURCE_NAME_LENGTH = 63
_DNS_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS_SUBDOMAIN = re.compile(rf"^{_DNS_LABEL}(\.{_DNS_LABEL})*$")
_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
# The forms Go's uuid.Parse takes: canonical, braced, URN, and 32 bare hex digits.
_ANY_UUID = re.compile(rf"^({_UUID}|\{{{_UUID}\}}|urn:uuid:{_UUID}|[0-9a-fA-F]{{32}})$")


@dataclass(frozen=True)
class ReplicatedResource:
    """sharing.timeSlicing.resources[] / sharing.mps.resources[]."""

    name: str  # "nvidia.com/gpu" or a MIG resource
    replicas: int
    rename: str | None = None
    #: "all", a count of devices, or device references (GPU index, MIG index "0:1", UUID).
    devices: str | int | tuple[str, ...] = "all"


@dataclass(frozen=True)
class SharingConfig:
    """sharing.timeSlicing or sharing.mps of one named config."""

    resources: tuple[ReplicatedResource, ...] = ()
    rename_by_default: bool = False
    fail_requests_greater_than_one: bool = False


@dataclass(frozen=True)
class DevicePluginConfig:
    """One named config (one key of the ConfigMap's data), as the device plugin reads it."""

    name: str
    mig_strategy: str = "none"  # none | single | mixed
    time_slicing: SharingConfig | None = None
    mps: SharingConfig | None = None
    #: What the plugin would log on loading it: the fields it ignores.
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class DevicePluginConfigMap:
    """A ConfigMap of device plugin configs.

    Nodes pick one config by their nvidia.com/device-plugin.config label.
    """

    name: str
    namespace: str
    configs: Mapping[str, DevicePluginConfig] = field(default_factory=dict)
    source: Location = field(default_factory=Location)


def resource_name(text: str) -> str:
    """A resource name as the plugin takes it: nvidia.com/ added to a bare name, then checked.

    The whole name may hold 63 characters and the part after nvidia.com/ must be a DNS
    subdomain (lower case letters, digits, "-" and "."), as the kubelet requires. Raises
    ValueError saying why otherwise.
    """
    name = text if text.startswith(RESOURCE_PREFIX) else RESOURCE_PREFIX + text
    if len(name) > MAX_RESOURCE_NAME_LENGTH:
        raise ValueError(
            f"fully-qualified resource name must be {MAX_RESOURCE_NAME_LENGTH} characters or "
            f"less: {name}"
        )
    if len(name) - len(RESOURCE_PREFIX) > 253 or not _DNS_SUBDOMAIN.match(
        name.removeprefix(RESOURCE_PREFIX)
    ):
        raise ValueError(
            f"incorrect format for resource name {name!r}: the part after {RESOURCE_PREFIX} "
            "must be a DNS subdomain (lower case letters, digits, '-' and '.')"
        )
    return name


def device_ref_kind(ref: str) -> Literal["gpu-index", "mig-index", "uuid"] | None:
    """What a `devices` entry names: a GPU index, a MIG index ("0:1"), a UUID; None if invalid.

    GPU UUIDs are "GPU-<uuid>"; MIG UUIDs "MIG-<uuid>" or "MIG-GPU-<uuid>/<gi>/<ci>".
    """
    if ref.isdigit() and ref.isascii():
        return "gpu-index"
    gpu, sep, mig = ref.partition(":")
    if sep and all(p.isdigit() and p.isascii() for p in (gpu, mig)):
        return "mig-index"
    if ref.startswith("GPU-") and _ANY_UUID.match(ref.removeprefix("GPU-")):
        return "uuid"
    if ref.startswith("MIG-"):
        rest = ref.removeprefix("MIG-")
        if _ANY_UUID.match(rest):
            return "uuid"
        parts = rest.split("/", 2)
        if (
            len(parts) == 3
            and device_ref_kind(parts[0]) == "uuid"
            and parts[0].startswith("GPU-")
            and all(p.isdigit() and p.isascii() for p in parts[1:])
        ):
            return "uuid"
    return None


def without_unsupported(config: DevicePluginConfig) -> DevicePluginConfig:
    """The config as the plugin serves it: `rename` and `devices` cleared, with warnings.

    The plugin does not support either yet and clears them when it loads a config: every
    resource is replicated on all devices, and renamed to <name>.shared under renameByDefault,
    else not at all.
    """
    warnings = list(config.warnings)

    def clear(sharing: SharingConfig | None, key: str) -> SharingConfig | None:
        if sharing is None:
            return None
        renamed = devices = False
        resources = []
        for r in sharing.resources:
            rename = r.name + SHARED_SUFFIX if sharing.rename_by_default else None
            renamed = renamed or r.rename != rename
            devices = devices or r.devices != "all"
            resources.append(replace(r, rename=rename, devices="all"))
        if renamed:
            given = " (renameByDefault gives <name>.shared)" if sharing.rename_by_default else ""
            warnings.append(
                f"sharing.{key}.resources: 'rename' is not supported by the device plugin "
                f"yet; ignored{given}"
            )
        if devices:
            warnings.append(
                f"sharing.{key}.resources: 'devices' is not supported by the device plugin "
                "yet; ignored (every GPU is replicated)"
            )
        return replace(sharing, resources=tuple(resources))

    cleared = replace(
        config,
        time_slicing=clear(config.time_slicing, "timeSlicing"),
        mps=clear(config.mps, "mps"),
    )
    return replace(cleared, warnings=tuple(dict.fromkeys(warnings)))
