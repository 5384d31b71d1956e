"""Cluster policy objects: PriorityClass and ResourceQuota."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from gpuplane.errors import Location


@dataclass(frozen=True)
class PriorityClass:
    name: str
    value: int
    global_default: bool = False
    preemption_policy: str = "PreemptLowerPriority"  # or "Never"
    description: str = ""
    source: Location = field(default_factory=Location)


@dataclass(frozen=True)
class ResourceQuota:
    """spec.hard per namespace. Values are in brain units keyed by the resource name as written
    (`requests.nvidia.com/gpu`, `requests.cpu` in millicores, `requests.memory` in MiB, `pods`)."""

    name: str
    namespace: str
    hard: Mapping[str, int] = field(default_factory=dict)
    source: Location = field(default_factory=Location)
