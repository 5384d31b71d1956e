"""The node labels GPU Feature Discovery writes about a node's GPUs and how they are shared.

Names are the ones GFD, the device plugin and the GPU Operator write, so that nodeSelectors and
affinities users already have keep working against gpuplane's nodes. What GFD writes follows
its resource labeler (k8s-device-plugin, internal/lm/resource.go and mig-strategy.go):

* for the full GPUs, keyed by the resource nvidia.com/gpu: product, count (physical GPUs),
  replicas, sharing-strategy, memory, family, compute.major and compute.minor;
* the product gets "-SHARED" when nvidia.com/gpu is replicated (replicas > 1) and not renamed;
* replicas is 0 when every GPU is in MIG mode (their labels carry no sharing), and the
  sharing-strategy is "none" unless replicas > 1;
* under the single MIG strategy the MIG devices are nvidia.com/gpu, and their labels replace
  the full-GPU ones: product "<model>-MIG-<profile>", count = MIG devices on the node, the
  instance's memory and slices; a node with more than one profile, an empty MIG GPU or a
  whole GPU beside MIG ones gets "<model>-MIG-INVALID" and counts of 0;
* under the mixed strategy each profile gets nvidia.com/mig-<profile>.{product, count,
  replicas, sharing-strategy, memory, slices.gi, slices.ci}, count being its instances;
* nvidia.com/mig.strategy whenever the strategy is not none, nvidia.com/mps.capable always.

GFD also writes multiprocessors and engine counts for MIG devices; the catalog does not hold
them, so they are left out rather than guessed. gpuplane adds labels of its own for what
Kubernetes has no label for: fractional GPUs and dynamic MIG. The label names are in
`gpuplane.catalog.labels`; `read_labels` reads these labels back.
"""

from __future__ import annotations

import re
from collections import Counter

from gpuplane.catalog.labels import (
    COMPUTE_MAJOR,
    COMPUTE_MINOR,
    COUNT,
    DYNAMIC_MIG,
    FAMILY,
    GPU_SCHEDULER_POLICY,
    MEMORY,
    MIG_CAPABLE,
    MIG_INVALID,
    MIG_STRATEGY,
    MPS_CAPABLE,
    NO_SHARING,
    PRESENT,
    PRODUCT,
    REPLICAS,
    RESOURCE_COUNT,
    RESOURCE_MEMORY,
    RESOURCE_PRODUCT,
    RESOURCE_REPLICAS,
    RESOURCE_SHARING_STRATEGY,
    RESOURCE_SLICES_CI,
    RESOURCE_SLICES_GI,
    SHARED_SUFFIX,
    SHARING,
    SHARING_FRACTIONAL,
    SHARING_STRATEGY,
)
from gpuplane.catalog.models import GpuModel, MigProfile
from gpuplane.catalog.resources import GPU
from gpuplane.sharing.modes import EXCLUSIVE_NODE, GpuSharing, MigStrategy, NodeSharing, SharingKind

_UNSAFE = re.compile(r"[^A-Za-z0-9\-_. ]")


def resource_label(resource: str, suffix: str) -> str:
    """The label GFD writes about `resource`: nvidia.com/mig-1g.10gb + count -> ....count."""
    return f"{resource}.{suffix}"


def sanitise(text: str) -> str:
    """A name as GFD puts it in a label value: other characters dropped, spaces as dashes.

    This is why a "1g.10gb+me" instance shows as "...-MIG-1g.10gbme" in the product label.
    """
    return "-".join(_UNSAFE.sub("", text).split())


def product_name(product: str, mig_profile: str | None = None, *, shared: bool = False) -> str:
    """The product label value: the model, "-MIG-<profile>" under single, "-SHARED" if so."""
    parts = [sanitise(product)]
    if mig_profile is not None:
        parts += ["MIG", sanitise(mig_profile)]
    if shared:
        parts.append(SHARED_SUFFIX.removeprefix("-"))
    return "-".join(parts)


def gfd_labels(model: GpuModel, count: int, sharing: NodeSharing | None = None) -> dict[str, str]:
    """The labels GFD puts on a node with `count` GPUs of `model` shared as `sharing`.

    `sharing` defaults to exclusive. Counts agree with `gpuplane.sharing.devices`: the count
    of a MIG resource is the number of instances of its profile on the node.
    """
    replicated_kinds = (SharingKind.TIME_SLICING, SharingKind.MPS)
    sharing = sharing or EXCLUSIVE_NODE
    gpus = [sharing.for_gpu(i) for i in range(count)]
    full = [g for g in gpus if g.kind is not SharingKind.MIG]
    mig = [g for g in gpus if g.kind is SharingKind.MIG]
    major, minor = model.compute_capability
    labels = {
        PRESENT: "true",
        FAMILY: model.family,
        COMPUTE_MAJOR: str(major),
        COMPUTE_MINOR: str(minor),
        MIG_CAPABLE: "true" if model.mig_capable else "false",
        MPS_CAPABLE: "true" if any(g.kind is SharingKind.MPS for g in full) else "false",
    }
    # One sharing config holds for nvidia.com/gpu; GPUs set apart keep its label values.
    replicated = next((g for g in full if g.kind in replicated_kinds), None)
    labels.update(_full_gpu_labels(model, count, any_whole=bool(full), replicated=replicated))
    if sharing.mig_strategy is not MigStrategy.NONE:
        labels[MIG_STRATEGY] = sharing.mig_strategy.value
        if sharing.mig_strategy is MigStrategy.SINGLE and mig:
            labels.update(_single_labels(model, mig, whole_gpus_too=bool(full)))
        elif sharing.mig_strategy is MigStrategy.MIXED:
            labels.update(_mixed_labels(model, mig))
    if sharing.default.kind is SharingKind.FRACTIONAL:
        labels[SHARING] = SHARING_FRACTIONAL
        labels[GPU_SCHEDULER_POLICY] = sharing.default.fraction_policy.value
    if sharing.dynamic_mig:
        labels[DYNAMIC_MIG] = "true"
    return labels


def _full_gpu_labels(
    model: GpuModel, count: int, *, any_whole: bool, replicated: GpuSharing | None
) -> dict[str, str]:
    # GFD labels MIG-enabled GPUs without sharing, hence replicas 0 when no GPU is whole.
    replicas = (replicated.replicas if replicated else 1) if any_whole else 0
    strategy, shared = NO_SHARING, False
    if replicated is not None and replicas > 1:
        strategy = replicated.kind.value
        shared = replicated.resource == GPU  # a renamed resource says it already
    return {
        PRODUCT: product_name(model.product, shared=shared),
        COUNT: str(count),
        REPLICAS: str(replicas),
        SHARING_STRATEGY: strategy,
        MEMORY: str(model.memory_mib),
    }


def _instances(model: GpuModel, mig: list[GpuSharing]) -> Counter[MigProfile]:
    return Counter(model.mig_profile(name) for g in mig for name in g.mig_layout)


def _instance_labels(resource: str, model: GpuModel, profile: MigProfile, n: int) -> dict[str, str]:
    # A MIG device's compute instance spans its GPU instance, so both slice counts match.
    values = {
        RESOURCE_PRODUCT: product_name(model.product, profile.name),
        RESOURCE_COUNT: str(n),
        RESOURCE_REPLICAS: "1",
        RESOURCE_SHARING_STRATEGY: NO_SHARING,
        RESOURCE_MEMORY: str(profile.memory_mib),
        RESOURCE_SLICES_GI: str(profile.compute_slices),
        RESOURCE_SLICES_CI: str(profile.compute_slices),
    }
    return {resource_label(resource, key): value for key, value in values.items()}


def _single_labels(
    model: GpuModel, mig: list[GpuSharing], *, whole_gpus_too: bool
) -> dict[str, str]:
    instances = _instances(model, mig)
    if len(instances) != 1 or whole_gpus_too or any(not g.mig_layout for g in mig):
        # GFD's verdict on a node the single strategy cannot serve.
        return {
            PRODUCT: product_name(model.product, MIG_INVALID),
            COUNT: "0",
            REPLICAS: "0",
            MEMORY: "0",
        }
    ((profile, n),) = instances.items()
    return _instance_labels(GPU, model, profile, n)


def _mixed_labels(model: GpuModel, mig: list[GpuSharing]) -> dict[str, str]:
    labels: dict[str, str] = {}
    for profile, n in sorted(_instances(model, mig).items(), key=lambda item: item[0].name):
        labels.update(_instance_labels(profile.resource_name, model, profile, n))
    return labels
