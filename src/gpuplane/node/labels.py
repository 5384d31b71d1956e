"""The node labels GPU Feature Discovery would write for this node, from what the backend found.

The GPU labels (product, memory, count, family, compute capability, MIG capability and
strategy, sharing strategy and replicas, per-profile MIG labels under mixed, the -SHARED
suffix) come from `gpuplane.sharing.gfd_labels`, which the scheduler reads back, fed
with the node's real model name, memory, MIG layouts and sharing config. The driver and CUDA
version labels are added here, under both the names GFD writes today and the older ones it
still writes.

`feature_file` renders labels in Node Feature Discovery's feature file format (one
`name=value` per line), which NFD's local source turns into node labels.
"""

from __future__ import annotations

from collections.abc import Mapping

from gpuplane.catalog.labels import (
    CUDA_DRIVER_FULL,
    CUDA_DRIVER_MAJOR,
    CUDA_DRIVER_MAJOR_OLD,
    CUDA_DRIVER_MINOR,
    CUDA_DRIVER_MINOR_OLD,
    CUDA_DRIVER_REV_OLD,
    CUDA_DRIVER_REVISION,
    CUDA_RUNTIME_FULL,
    CUDA_RUNTIME_MAJOR,
    CUDA_RUNTIME_MAJOR_OLD,
    CUDA_RUNTIME_MINOR,
    CUDA_RUNTIME_MINOR_OLD,
)
from gpuplane.node.backend import BackendError, Inventory
from gpuplane.node.devices import NodePlan
from gpuplane.sharing import gfd_labels

#: Where NFD's local source reads feature files; the GPU Operator's GFD writes "gfd" there.
NFD_FEATURES_DIR = "/etc/kubernetes/node-feature-discovery/features.d"
NFD_FILE_NAME = "gpuplane"


def node_labels(plan: NodePlan) -> dict[str, str]:
    """Every GFD label of the node, sorted by name."""
    labels = gfd_labels(plan.model, len(plan.inventory.gpus), plan.sharing)
    labels.update(version_labels(plan.inventory))
    return dict(sorted(labels.items()))


def version_labels(inventory: Inventory) -> dict[str, str]:
    """The driver and CUDA version labels, as GFD splits the versions."""
    version = inventory.driver_version.strip()
    parts = version.split(".")
    if not 2 <= len(parts) <= 3 or not all(p.isdigit() for p in parts):
        raise BackendError(f"driver version {version!r} is not MAJOR.MINOR[.REVISION]")
    major, minor = parts[0], parts[1]
    revision = parts[2] if len(parts) == 3 else ""
    cuda_major, cuda_minor = (str(v) for v in inventory.cuda_driver_version)
    return {
        CUDA_DRIVER_MAJOR: major,
        CUDA_DRIVER_MINOR: minor,
        CUDA_DRIVER_REVISION: revision,
        CUDA_DRIVER_FULL: version,
        CUDA_RUNTIME_MAJOR: cuda_major,
        CUDA_RUNTIME_MINOR: cuda_minor,
        CUDA_RUNTIME_FULL: f"{cuda_major}.{cuda_minor}",
        CUDA_DRIVER_MAJOR_OLD: major,
        CUDA_DRIVER_MINOR_OLD: minor,
        CUDA_DRIVER_REV_OLD: revision,
        CUDA_RUNTIME_MAJOR_OLD: cuda_major,
        CUDA_RUNTIME_MINOR_OLD: cuda_minor,
    }


def feature_file(labels: Mapping[str, str]) -> str:
    """Labels as an NFD feature file: a comment, then `name=value` lines sorted by name."""
    lines = ["# GPU labels written by the gpuplane node agent"]
    lines += [f"{name}={value}" for name, value in sorted(labels.items())]
    return "\n".join(lines) + "\n"
