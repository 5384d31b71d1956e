"""The node labels GPU Feature Discovery writes about a node's GPUs and how they are shared.

Names are the ones GFD, the device plugin and the GPU Operator write, so that nodeSelectors and
affinities users already have keep working against gpuplane's nodes. What GFD writes follows
its resource labeler (k8s-device-plugin, internal/lm/resource.go and mig-strategy.go):

* for the full GPUs, keyed by the resource nvidia.com/gpu: product, count (physical GPUs),
  replicas, sharing-strategy, memory, family, compute.major and compute.minor;
* family, compute.major and compute.minor only when the GPU reports a compute capability (GFD
  writes none for a major of 0, as for the trace's placeholder models);
* the product gets "-SHARED" when nvidia.com/gpu is replicated (replicas > 1) and not renamed;
* replicas is 0 when every GPU is in MIG mode (their labels carry no sharing), and the
  sharing-strategy is "none" unless replicas > 1;
* under the single MIG strategy the MIG devices are nvidia.com/gpu, and their labels replace
  the full-GPU ones: product "<model>-MIG-<profile>", count = MIG devices on the node, the
  instance's memory and slices; a node with more than one profile, an empty MIG GPU or a
  whole GPU beside MIG ones gets "<model>-MIG-INVALID", counts of 0 and an empty
  sharing-strategy;
* under the mixed strategy each profile gets nvidia.com/mig-<profile>.{product, count,
  replicas, sharing-strategy, memory, multiprocessors, slices.gi, slices.ci, engines.copy,
  engines.decoder, engines.encoder, engines.jpeg, engines.ofa}, count being its instances;
  a "+me" profile is written "1g.10gb.me" in keys and products, as the device plugin does;
* nvidia.com/mig.strategy whenever the strategy is not none, nvidia.com/mps.capable always;
  nvidia.com/gpu.machine (the DMI product name, "unknown" if not known) and
  nvidia.com/gpu.mode (`gpu_mode`, from the GPUs' PCI classes).

gpuplane adds labels of its own for what Kubernetes has no label for: fractional GPUs and
dynamic MIG. The label names are in `gpuplane.catalog.labels`; `read_labels` reads these
labels back.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from gpuplane.catalog.labels import (
    COMPUTE_MAJOR,
    COMPUTE_MINOR,
    COUNT,
    DEVICE_SPLIT_COUNT,
    DYNAMIC_MIG,
    FAMILY,
    GPU_MODE,
    GPU_SCHEDULER_POLICY,
    MACHINE,
    MACHINE_UNKNOWN,
    MEMORY,
    MIG_CAPABLE,
    MIG_INVALID,
    MIG_STRATEGY,
    MODE_COMPUTE,
    MODE_GRAPHICS,
    MODE_UNKNOWN,
    MPS_CAPABLE,
    NO_SHARING,
    PRESENT,
    PRODUCT,
    REPLICAS,
    RESOURCE_COUNT,
    RESOURCE_ENGINES_COPY,
    RESOURCE_ENGINES_DECODER,
    RESOURCE_ENGINES_ENCODER,
    RESOURCE_ENGINES_JPEG,
    RESOURCE_ENGINES_OFA,
    RESOURCE_MEMORY,
    RESOURCE_MULTIPROCESSORS,
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
from gpuplane.catalog.resources import GPU, mig_name
from gpuplane.sharing.modes import EXCLUSIVE_NODE, GpuSharing, MigStrategy, NodeSharing, SharingKind

_UNSAFE = re.compile(r"[^A-Za-z0-9\-_. ]")
#: PCI device classes GFD tells apart (class, subclass, interface).
PCI_VGA_CONTROLLER = 0x030000
PCI_3D_CONTROLLER = 0x030200


def resource_label(resource: str, suffix: str) -> str:
    """The label GFD writes about `resource`: nvidia.com/mig-1g.10gb + count -> ....count."""
    return f"{resource}.{suffix}"


def sanitise(text: str) -> str:
    """A name as GFD puts it in a label value: other characters dropped, spaces as dashes.

    The MIG profile reaches it with "+" already made "." (see `product_name`).
    """
    return "-".join(_UNSAFE.sub("", text).split())


def product_name(product: str, mig_profile: str | None = None, *, shared: bool = False) -> str:
    """The product label value: the model, "-MIG-<profile>" under single, "-SHARED" if so."""
    parts = [sanitise(product)]
    if mig_profile is not None:
        parts += ["MIG", sanitise(mig_name(mig_profile))]
    if shared:
        parts.append(SHARED_SUFFIX.removeprefix("-"))
    return "-".join(parts)


def gpu_mode(pci_classes: Sequence[int]) -> str:
    """nvidia.com/gpu.mode for GPUs of these PCI classes: one class decides, else unknown."""
    if not pci_classes or len(set(pci_classes)) > 1:
        return MODE_UNKNOWN
    return {PCI_VGA_CONTROLLER: MODE_GRAPHICS, PCI_3D_CONTROLLER: MODE_COMPUTE}.get(
        pci_classes[0], MODE_UNKNOWN
    )


def gfd_labels(
    model: GpuModel,
    count: int,
    sharing: NodeSharing | None = None,
    *,
    machine: str = MACHINE_UNKNOWN,
) -> dict[str, str]:
    """The labels GFD puts on a node with `count` GPUs of `model` shared as `sharing`.

    `sharing` defaults to exclusive; `machine` is the node's DMI product name. Counts agree
    with `gpuplane.sharing.devices`: the count of a MIG resource is the number of instances
    of its profile on the node. The catalog's GPUs are data-center boards, which show as
    3D controllers (mode compute); a placeholder model, of no known architecture, is unknown.
    """
    replicated_kinds = (SharingKind.TIME_SLICING, SharingKind.MPS)
    sharing = sharing or EXCLUSIVE_NODE
    gpus = [sharing.for_gpu(i) for i in range(count)]
    full = [g for g in gpus if g.kind is not SharingKind.MIG]
    mig = [g for g in gpus if g.kind is SharingKind.MIG]
    major, minor = model.compute_capability
    labels = {
        PRESENT: "true",
        MACHINE: sanitise(machine) or MACHINE_UNKNOWN,
        GPU_MODE: gpu_mode([PCI_3D_CONTROLLER] if major else []),
        MIG_CAPABLE: "true" if model.mig_capable else "false",
        # GFD's sharing labeler: MPS with more than one replica.
        MPS_CAPABLE: "true"
        if any(g.kind is SharingKind.MPS and g.replicas > 1 for g in full)
        else "false",
    }
    if major:
        # GFD writes no architecture for a GPU that reports compute capability 0.
        labels.update({FAMILY: model.family, COMPUTE_MAJOR: str(major), COMPUTE_MINOR: str(minor)})
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
        labels[DEVICE_SPLIT_COUNT] = str(sharing.default.split_count)
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
        RESOURCE_MULTIPROCESSORS: str(profile.multiprocessors),
        RESOURCE_SLICES_GI: str(profile.compute_slices),
        RESOURCE_SLICES_CI: str(profile.compute_slices),
        RESOURCE_ENGINES_COPY: str(profile.copy_engines),
        RESOURCE_ENGINES_DECODER: str(profile.decoders),
        RESOURCE_ENGINES_ENCODER: str(profile.encoders),
        RESOURCE_ENGINES_JPEG: str(profile.jpeg_engines),
        RESOURCE_ENGINES_OFA: str(profile.ofa_engines),
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
            SHARING_STRATEGY: "",
            MEMORY: "0",
        }
    ((profile, n),) = instances.items()
    return _instance_labels(GPU, model, profile, n)


def _mixed_labels(model: GpuModel, mig: list[GpuSharing]) -> dict[str, str]:
    labels: dict[str, str] = {}
    for profile, n in sorted(_instances(model, mig).items(), key=lambda item: item[0].name):
        labels.update(_instance_labels(profile.resource_name, model, profile, n))
    return labels
