"""A node's GPU sharing mode, read from the labels GFD and the GPU Operator wrote.

Labels are read as GPU Feature Discovery and the GPU Operator write them (see
`gpuplane.sharing.labels` for the exact rules, taken from k8s-device-plugin's internal/lm):

* nvidia.com/gpu.sharing-strategy (time-slicing | mps | none) with nvidia.com/gpu.replicas
  (> 1 when shared). GFD before v0.15 wrote no sharing-strategy and knew only time-slicing,
  so replicas > 1 without it means time-slicing.
* A product ending in "-SHARED" means the replicas are advertised as nvidia.com/gpu; GFD adds
  the suffix only when the resource is not renamed, so replicas > 1 without it means renamed
  (renameByDefault gives nvidia.com/gpu.shared).
* MIG: nvidia.com/mig.strategy (single | mixed). Under single the product reads
  "<model>-MIG-<profile>" and nvidia.com/gpu.count counts MIG devices; under mixed each
  profile has nvidia.com/mig-<profile>.count. What GFD counts runs now, so it decides the
  layout; nvidia.com/mig.config (mig-parted's config name: all-1g.10gb, all-balanced,
  all-1g.10gb.me, all-disabled) gives it where GFD's labels do not, and only once
  nvidia.com/mig.config.state, when present, is "success".
* gpuplane's own: gpuplane.io/sharing (fractional | exclusive),
  gpuplane.io/gpu-scheduler-policy (binpack | spread), gpuplane.io/device-split-count (the
  devices each fractional GPU is advertised as, HAMi's deviceSplitCount, default 10) and
  gpuplane.io/dynamic-mig ("true").

Labels describe every GPU of a node alike, except what GFD's counts imply; per-GPU modes come
from a cluster spec or from the `devices` of a device plugin config (`plugin_apply`). The MIG
layout is read in `read_mig_labels`.
"""

from __future__ import annotations

from collections.abc import Mapping

from gpuplane.catalog import GpuModel
from gpuplane.catalog.labels import (
    COUNT,
    DEVICE_SPLIT_COUNT,
    DYNAMIC_MIG,
    GPU_SCHEDULER_POLICY,
    MIG_CONFIG_DISABLED,
    MIG_STRATEGY,
    NO_SHARING,
    PRODUCT,
    REPLICAS,
    SHARED_SUFFIX,
    SHARING,
    SHARING_EXCLUSIVE,
    SHARING_FRACTIONAL,
    SHARING_STRATEGY,
)
from gpuplane.catalog.resources import GPU, GPU_SHARED, MIG_PREFIX
from gpuplane.errors import Location
from gpuplane.sharing.label_view import MIG_RESOURCE_LABEL, PRODUCT_PATTERN, LabelView
from gpuplane.sharing.modes import (
    DEFAULT_SPLIT_COUNT,
    EXCLUSIVE,
    MAX_SPLIT_COUNT,
    FractionPolicy,
    GpuSharing,
    MigStrategy,
    NodeSharing,
    SharingKind,
    check_replicas,
)
from gpuplane.sharing.read_mig_labels import mig_layout, need_mig_model, single_layout

_STRATEGIES = {SharingKind.TIME_SLICING.value, SharingKind.MPS.value, NO_SHARING}


def product_model(product: str) -> str:
    """The model part of a product label: GFD's "-MIG-<profile>" and "-SHARED" removed."""
    match = PRODUCT_PATTERN.match(product)
    return match.group("model") if match else product


def renamed_resource(advertised: Mapping[str, int]) -> str:
    """The resource replicas are renamed to, judged from what a node advertises.

    renameByDefault gives nvidia.com/gpu.shared; a `rename` may give any nvidia.com/ name, so
    a single other nvidia.com/ resource that is neither a GPU nor a MIG profile is taken.
    """
    if GPU_SHARED in advertised:
        return GPU_SHARED
    others = [
        name
        for name in advertised
        if name.startswith("nvidia.com/") and name != GPU and not name.startswith(MIG_PREFIX)
    ]
    return others[0] if len(others) == 1 else GPU_SHARED


def sharing_from_labels(
    labels: Mapping[str, str],
    gpu_count: int,
    where: Location | None = None,
    model: GpuModel | None = None,
    *,
    lines: Mapping[str, int] | None = None,
    renamed_to: str = GPU_SHARED,
) -> NodeSharing | None:
    """A node's sharing from GFD's and gpuplane's labels; None when they say nothing of it.

    `gpu_count` is the node's physical GPUs (see `physical_gpu_count`), `where` the place of
    metadata.labels and `lines` the line of each label, for errors. `model` is needed for MIG
    (its geometry) and checks what the GPU allows. `renamed_to` is the resource that renamed
    replicas are advertised as. Invalid or contradictory labels raise ManifestError.
    """
    view = LabelView(labels, where, lines or {})
    if not view.says_something():
        return None
    strategy = _mig_strategy(view)
    layout, implied = mig_layout(view, model, gpu_count, strategy)
    strategy = strategy or implied
    default = _gpu_sharing(view, model, renamed_to)
    dynamic = view.choice(DYNAMIC_MIG, ("true", "false")) == "true"
    if dynamic:
        need_mig_model(view, DYNAMIC_MIG, model)
        if strategy is MigStrategy.SINGLE:
            raise view.error(
                DYNAMIC_MIG,
                "dynamic MIG needs nvidia.com/mig.strategy mixed: under single every MIG "
                "device is nvidia.com/gpu and all must be alike",
            )
        layout = layout or ()
        strategy = MigStrategy.MIXED if strategy in (None, MigStrategy.NONE) else strategy
    if layout is not None:
        if default.kind is not SharingKind.EXCLUSIVE:
            name = SHARING if default.kind is SharingKind.FRACTIONAL else REPLICAS
            raise view.error(
                name,
                f"the GPUs are in MIG mode, so they cannot also be {default.kind} "
                "(replicas of MIG devices are not supported yet)",
            )
        default = GpuSharing(kind=SharingKind.MIG, mig_layout=layout)
    return NodeSharing(
        default=default, mig_strategy=strategy or MigStrategy.NONE, dynamic_mig=dynamic
    )


def physical_gpu_count(
    labels: Mapping[str, str],
    advertised: Mapping[str, int],
    where: Location | None = None,
    model: GpuModel | None = None,
    *,
    lines: Mapping[str, int] | None = None,
    renamed_to: str = GPU_SHARED,
) -> int:
    """The node's physical GPUs, from its labels and `advertised` (status.allocatable).

    Allocatable nvidia.com/gpu counts physical GPUs only on an exclusive node: time-slicing
    and MPS multiply it by the replicas and MIG single counts MIG devices in it. GFD's
    nvidia.com/gpu.count is the physical count, except under single (MIG devices again) and
    before GFD moved into the device plugin (v0.15), when it too was multiplied by the
    replicas and there was no sharing-strategy label. An exclusive node keeps allocatable,
    which leaves out unhealthy GPUs where the label would not. A fractional node advertises
    each GPU as its split count of devices.
    """
    view = LabelView(labels, where, lines or {})
    allocatable = advertised.get(GPU, 0)
    count = view.whole(COUNT)
    fractional = fractional_sharing(view)
    if fractional is not None and (view.whole(REPLICAS) or 1) == 1:
        # Each GPU is advertised as split_count devices; GFD's count is the physical one.
        if count is not None:
            return count
        if allocatable % fractional.split_count:
            raise view.error(
                SHARING,
                f"a fractional node advertises each GPU as {fractional.split_count} devices "
                f"(its split count), but {GPU} is {allocatable}, not a multiple of that",
                hint=f"set {COUNT} to the node's GPUs, or {GPU} to GPUs x split count",
            )
        return allocatable // fractional.split_count
    product = view.product()
    if product is not None and product.group("mig"):
        per_gpu = len(single_layout(view, model, product.group("mig"), gpu_count=0))
        return (count if count is not None else allocatable) // max(1, per_gpu)
    replicas = view.whole(REPLICAS) or 1
    if replicas > 1:
        shared = product is not None and bool(product.group("shared"))
        replicated = allocatable if shared else advertised.get(renamed_to, 0)
        if count is None:
            # GPUs a `devices` subset left whole stay nvidia.com/gpu beside the renamed ones.
            return replicated // replicas + (0 if shared else allocatable)
        legacy = view.get(SHARING_STRATEGY) is None and count == replicated
        return count // replicas if legacy and count % replicas == 0 else count
    mig_on = any(MIG_RESOURCE_LABEL.match(n) for n in labels) or view.mig_config() not in (
        None,
        MIG_CONFIG_DISABLED,
    )
    if mig_on and count is not None:
        return count  # MIG-enabled GPUs are not in allocatable nvidia.com/gpu
    return allocatable


def _mig_strategy(view: LabelView) -> MigStrategy | None:
    text = view.choice(MIG_STRATEGY, [s.value for s in MigStrategy])
    return MigStrategy(text) if text else None


def _gpu_sharing(view: LabelView, model: GpuModel | None, renamed_to: str) -> GpuSharing:
    """How the GPUs not in MIG mode are shared: replicated, fractional or exclusive."""
    replicas = view.whole(REPLICAS)
    strategy = view.choice(SHARING_STRATEGY, sorted(_STRATEGIES))
    product = view.product()
    shared = product is not None and bool(product.group("shared"))
    fractional = fractional_sharing(view)
    kind: SharingKind | None = None
    if strategy in (SharingKind.TIME_SLICING, SharingKind.MPS):
        if replicas is None or replicas < 2:
            raise view.error(
                REPLICAS,
                f"{SHARING_STRATEGY} is {strategy}, so replicas must be 2 or more, got {replicas}",
                hint="GFD writes a sharing strategy only for a replicated nvidia.com/gpu",
            )
        kind = SharingKind(strategy)
    elif replicas is not None and replicas > 1:
        if strategy == NO_SHARING:
            raise view.error(
                SHARING_STRATEGY,
                f"says none, but {REPLICAS} is {replicas}: GFD writes none only when "
                "nvidia.com/gpu is not replicated",
            )
        kind = SharingKind.TIME_SLICING
    if shared and kind is None:
        raise view.error(
            PRODUCT,
            f"ends in {SHARED_SUFFIX}, which GFD adds only when nvidia.com/gpu is replicated, "
            f"but {REPLICAS} is {replicas}",
        )
    if fractional is not None:
        if kind is not None:
            raise view.error(SHARING, f"fractional GPUs cannot also be {kind} ({REPLICAS})")
        return fractional
    if kind is None or replicas is None:
        return EXCLUSIVE
    check_replicas(kind, replicas, model, view.at(REPLICAS))
    return GpuSharing(
        kind=kind,
        replicas=replicas,
        resource=GPU if shared else renamed_to,
        # The labels do not say; these are the plugin's defaults (MPS refuses, v0.15 on).
        fail_requests_greater_than_one=kind is SharingKind.MPS,
    )


def fractional_sharing(view: LabelView) -> GpuSharing | None:
    """The fractional sharing gpuplane's labels set, or None when the node is not fractional."""
    mode = view.choice(SHARING, (SHARING_FRACTIONAL, SHARING_EXCLUSIVE))
    policy = view.choice(GPU_SCHEDULER_POLICY, [p.value for p in FractionPolicy])
    split = view.whole(DEVICE_SPLIT_COUNT)
    for name, value in ((GPU_SCHEDULER_POLICY, policy), (DEVICE_SPLIT_COUNT, split)):
        if value is not None and mode != SHARING_FRACTIONAL:
            raise view.error(name, f"applies to fractional nodes only ({SHARING}: fractional)")
    if mode != SHARING_FRACTIONAL:
        return None
    if split is not None and not 1 <= split <= MAX_SPLIT_COUNT:
        raise view.error(DEVICE_SPLIT_COUNT, f"must be 1 to {MAX_SPLIT_COUNT}, got {split}")
    return GpuSharing(
        kind=SharingKind.FRACTIONAL,
        fraction_policy=FractionPolicy(policy or FractionPolicy.BINPACK),
        split_count=DEFAULT_SPLIT_COUNT if split is None else split,
    )


def fractional_from_labels(
    labels: Mapping[str, str], where: Location | None = None
) -> GpuSharing | None:
    """A node's fractional sharing from its labels alone (what the node agent reads)."""
    return fractional_sharing(LabelView(labels, where))
