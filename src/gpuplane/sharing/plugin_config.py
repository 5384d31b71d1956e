"""The NVIDIA device plugin's config (the ConfigMap users write for time-slicing, MPS and MIG)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from gpuplane.errors import Location


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


@dataclass(frozen=True)
class DevicePluginConfigMap:
    """A ConfigMap of device plugin configs.

    Nodes pick one config by their nvidia.com/device-plugin.config label.
    """

    name: str
    namespace: str
    configs: Mapping[str, DevicePluginConfig] = field(default_factory=dict)
    source: Location = field(default_factory=Location)
