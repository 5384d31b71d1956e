"""A node's GPU sharing mode, read from its labels or from the device plugin's ConfigMap.

Labels are read as GPU Feature Discovery and the GPU Operator write them (see
`gpuplane.catalog.labels` for the exact rules, taken from k8s-device-plugin's internal/lm):

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
  gpuplane.io/gpu-scheduler-policy (binpack | spread) and gpuplane.io/dynamic-mig ("true").

Labels describe every GPU of a node alike, except what GFD's counts imply; per-GPU modes come
from a cluster spec or from the `devices` of a device plugin config.

The device plugin's ConfigMap is read as the plugin and its config-manager read it: the node
label nvidia.com/device-plugin.config names the config; without it, the default config (the
chart's config.default), else one named "default", else the only one; else none (the
config-manager's "empty" fallback: the plugin's built-in defaults, GPUs not shared).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from gpuplane.catalog import GpuModel, MigProfile, fits_together
from gpuplane.catalog.labels import (
    COUNT,
    DYNAMIC_MIG,
    GPU_SCHEDULER_POLICY,
    MIG_CONFIG,
    MIG_CONFIG_DISABLED,
    MIG_CONFIG_ENABLED,
    MIG_CONFIG_STATE,
    MIG_CONFIG_STATE_SUCCESS,
    MIG_INVALID,
    MIG_STRATEGY,
    NO_SHARING,
    PRODUCT,
    REPLICAS,
    RESOURCE_COUNT,
    RESOURCE_REPLICAS,
    SHARED_SUFFIX,
    SHARING,
    SHARING_EXCLUSIVE,
    SHARING_FRACTIONAL,
    SHARING_STRATEGY,
    sanitise,
)
from gpuplane.catalog.labels import DEVICE_PLUGIN_CONFIG as CONFIG_LABEL
from gpuplane.catalog.mig import named_layout
from gpuplane.errors import InputError, Location, ManifestError
from gpuplane.objects.device_plugin_config import (
    DevicePluginConfig,
    DevicePluginConfigMap,
    ReplicatedResource,
)
from gpuplane.objects.gpu_request import GPU, GPU_SHARED, MIG_PREFIX
from gpuplane.objects.sharing import (
    EXCLUSIVE,
    FractionPolicy,
    GpuSharing,
    MigStrategy,
    NodeSharing,
    SharingKind,
)

#: The config the config-manager falls back to by name when no default is set.
DEFAULT_CONFIG_NAME = "default"

_CUSTOM_MIG_CONFIG = (
    "gpuplane knows mig-parted's default configs (all-disabled, all-enabled, all-balanced, "
    "all-<profile>); describe a node with a custom one in a cluster spec"
)
_STRATEGIES = {SharingKind.TIME_SLICING.value, SharingKind.MPS.value, NO_SHARING}
# "<model>[-MIG-<profile>][-SHARED]"; a profile never holds a dash, a model name does.
_PRODUCT = re.compile(r"^(?P<model>.+?)(?:-MIG-(?P<mig>[A-Za-z0-9._]+?))?(?P<shared>-SHARED)?$")
_MIG_RESOURCE_LABEL = re.compile(
    rf"^{re.escape(MIG_PREFIX)}(?P<profile>.+)\.(?P<what>{RESOURCE_COUNT}|{RESOURCE_REPLICAS})$"
)
# The labels that say something about sharing; a node with none of them says nothing.
_SHARING_LABELS = frozenset(
    {
        REPLICAS,
        SHARING_STRATEGY,
        MIG_STRATEGY,
        MIG_CONFIG,
        SHARING,
        GPU_SCHEDULER_POLICY,
        DYNAMIC_MIG,
    }
)


def product_model(product: str) -> str:
    """The model part of a product label: GFD's "-MIG-<profile>" and "-SHARED" removed."""
    match = _PRODUCT.match(product)
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


# ---------------------------------------------------------------------------------- labels


@dataclass(frozen=True)
class _Labels:
    """Node labels with the place of each, so that errors name the label and its line."""

    values: Mapping[str, str]
    where: Location | None = None
    lines: Mapping[str, int] = field(default_factory=dict)

    def get(self, name: str) -> str | None:
        # Kubernetes allows empty label values; an empty value says nothing here.
        return self.values.get(name) or None

    def at(self, name: str) -> Location:
        return (self.where or Location()).child(name, self.lines.get(name))

    def error(self, name: str, message: str, hint: str | None = None) -> ManifestError:
        return ManifestError(message, where=self.at(name), hint=hint)

    def whole(self, name: str) -> int | None:
        text = self.get(name)
        if text is None:
            return None
        if not text.isdigit():
            raise self.error(name, f"must be a whole number, got {text!r}")
        return int(text)

    def choice(self, name: str, options: Sequence[str]) -> str | None:
        text = self.get(name)
        if text is not None and text not in options:
            raise self.error(name, f"unknown value {text!r}; use one of: {', '.join(options)}")
        return text

    def product(self) -> re.Match[str] | None:
        text = self.get(PRODUCT)
        return _PRODUCT.match(text) if text else None

    def mig_config(self) -> str | None:
        """The mig-parted config running, or None while mig-manager has not applied it."""
        state = self.get(MIG_CONFIG_STATE)
        if state is not None and state != MIG_CONFIG_STATE_SUCCESS:
            # pending, rebooting or failed: the old layout still runs, as GFD's labels say.
            return None
        return self.get(MIG_CONFIG)

    def says_something(self) -> bool:
        product = self.product()
        if product is not None and (product.group("mig") or product.group("shared")):
            return True
        return any(n in _SHARING_LABELS or _MIG_RESOURCE_LABEL.match(n) for n in self.values)


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
    view = _Labels(labels, where, lines or {})
    if not view.says_something():
        return None
    strategy = _mig_strategy(view)
    layout, implied = _mig_layout(view, model, gpu_count, strategy)
    strategy = strategy or implied
    default = _gpu_sharing(view, model, renamed_to)
    dynamic = view.choice(DYNAMIC_MIG, ("true", "false")) == "true"
    if dynamic:
        _need_mig_model(view, DYNAMIC_MIG, model)
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
    which leaves out unhealthy GPUs where the label would not.
    """
    view = _Labels(labels, where, lines or {})
    allocatable = advertised.get(GPU, 0)
    count = view.whole(COUNT)
    product = view.product()
    if product is not None and product.group("mig"):
        per_gpu = len(_single_layout(view, model, product.group("mig"), gpu_count=0))
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
    mig_on = any(_MIG_RESOURCE_LABEL.match(n) for n in labels) or view.mig_config() not in (
        None,
        MIG_CONFIG_DISABLED,
    )
    if mig_on and count is not None:
        return count  # MIG-enabled GPUs are not in allocatable nvidia.com/gpu
    return allocatable


def _mig_strategy(view: _Labels) -> MigStrategy | None:
    text = view.choice(MIG_STRATEGY, [s.value for s in MigStrategy])
    return MigStrategy(text) if text else None


def _gpu_sharing(view: _Labels, model: GpuModel | None, renamed_to: str) -> GpuSharing:
    """How the GPUs not in MIG mode are shared: replicated, fractional or exclusive."""
    replicas = view.whole(REPLICAS)
    strategy = view.choice(SHARING_STRATEGY, sorted(_STRATEGIES))
    product = view.product()
    shared = product is not None and bool(product.group("shared"))
    mode = view.choice(SHARING, (SHARING_FRACTIONAL, SHARING_EXCLUSIVE))
    policy = view.choice(GPU_SCHEDULER_POLICY, [p.value for p in FractionPolicy])
    if policy is not None and mode != SHARING_FRACTIONAL:
        raise view.error(
            GPU_SCHEDULER_POLICY, f"applies to fractional nodes only ({SHARING}: fractional)"
        )
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
    if mode == SHARING_FRACTIONAL:
        if kind is not None:
            raise view.error(SHARING, f"fractional GPUs cannot also be {kind} ({REPLICAS})")
        return GpuSharing(
            kind=SharingKind.FRACTIONAL, fraction_policy=FractionPolicy(policy or "binpack")
        )
    if kind is None or replicas is None:
        return EXCLUSIVE
    _check_replicas(kind, replicas, model, view.at(REPLICAS))
    return GpuSharing(
        kind=kind,
        replicas=replicas,
        resource=GPU if shared else renamed_to,
        # The labels do not say; these are the plugin's defaults (MPS refuses, v0.15 on).
        fail_requests_greater_than_one=kind is SharingKind.MPS,
    )


def _check_replicas(kind: SharingKind, replicas: int, model: GpuModel | None, at: Location) -> None:
    if model is None:
        return
    if not model.timeslicing_supported:
        raise ManifestError(f"{model.product} does not support {kind}", where=at)
    if kind is SharingKind.MPS and replicas > model.max_mps_clients:
        raise ManifestError(
            f"{replicas} MPS replicas exceed the {model.max_mps_clients} MPS clients a "
            f"{model.product} serves",
            where=at,
        )


def _need_mig_model(view: _Labels, name: str, model: GpuModel | None) -> GpuModel:
    if model is None:
        raise view.error(
            name,
            "MIG needs a GPU model gpuplane knows (for its MIG geometry)",
            hint=f"set {PRODUCT} to a product in gpuplane's catalog",
        )
    if not model.mig_capable:
        raise view.error(name, f"{model.product} is not MIG-capable")
    return model


def _mig_layout(
    view: _Labels, model: GpuModel | None, gpu_count: int, strategy: MigStrategy | None
) -> tuple[tuple[str, ...] | None, MigStrategy | None]:
    """The layout every GPU holds, or None when MIG is off; and the strategy labels imply."""
    _refuse_mig_replicas(view)
    product = view.product()
    profile_text = product.group("mig") if product is not None else None
    counts = {
        match.group("profile"): (name, view.whole(name))
        for name in view.values
        if (match := _MIG_RESOURCE_LABEL.match(name)) and match.group("what") == RESOURCE_COUNT
    }
    counts = {p: (name, n) for p, (name, n) in counts.items() if n}  # GFD omits empty ones
    if profile_text is not None:
        if strategy not in (None, MigStrategy.SINGLE):
            raise view.error(
                PRODUCT, "names a MIG profile, which GFD does under the single strategy only"
            )
        if product is not None and product.group("shared"):
            raise view.error(PRODUCT, "replicas of MIG devices are not supported yet")
        return _single_layout(view, model, profile_text, gpu_count), MigStrategy.SINGLE
    if counts:
        first = min(name for name, _ in counts.values())
        if strategy not in (None, MigStrategy.MIXED):
            raise view.error(first, "GFD writes per-profile MIG labels under mixed only")
        return _mixed_layout(view, model, counts, gpu_count), MigStrategy.MIXED
    config = view.mig_config()
    if config is None or config == MIG_CONFIG_DISABLED:
        return None, None
    mig_model = _need_mig_model(view, MIG_CONFIG, model)
    return _canonical(mig_model, _config_layout(view, mig_model, config)), None


def _refuse_mig_replicas(view: _Labels) -> None:
    for name in sorted(view.values):
        match = _MIG_RESOURCE_LABEL.match(name)
        if match and match.group("what") == RESOURCE_REPLICAS and (view.whole(name) or 0) > 1:
            raise view.error(name, "replicas of MIG devices are not supported yet")


def _single_layout(
    view: _Labels, model: GpuModel | None, profile_text: str, gpu_count: int
) -> tuple[str, ...]:
    """The layout under single: one profile, as many per GPU as GFD counts or mig.config says."""
    if profile_text == MIG_INVALID:
        raise view.error(
            PRODUCT,
            "GFD found a MIG configuration the single strategy cannot serve (more than one "
            "profile, an empty MIG GPU, or whole GPUs beside MIG ones)",
            hint="give every GPU one profile (e.g. all-1g.10gb) or use the mixed strategy",
        )
    mig_model = _need_mig_model(view, PRODUCT, model)
    profile = _profile_from_product(view, mig_model, profile_text)
    devices = view.whole(COUNT)
    config = view.mig_config()
    if devices and gpu_count > 0 and devices % gpu_count == 0:
        per_gpu = devices // gpu_count
    elif config is not None and config != MIG_CONFIG_DISABLED:
        named = _config_layout(view, mig_model, config)
        if set(named) != {profile.name}:
            raise view.error(
                MIG_CONFIG,
                f"holds {sorted(set(named))} but GFD reports {profile.name} devices only",
            )
        per_gpu = len(named)
    else:
        per_gpu = profile.max_instances  # mig-parted's all-<profile>
    layout = (profile.name,) * per_gpu
    if not fits_together(mig_model, layout):
        raise view.error(
            COUNT, f"{per_gpu} x {profile.name} per GPU do not fit one {mig_model.product}"
        )
    return layout


def _profile_from_product(view: _Labels, model: GpuModel, text: str) -> MigProfile:
    # GFD drops characters a label value may not hold: "1g.10gb+me" reads "1g.10gbme".
    for profile in model.mig_profiles:
        if sanitise(profile.name) == text:
            return profile
    raise view.error(
        PRODUCT,
        f"{model.product} has no MIG profile {text!r}",
        hint="its profiles are " + ", ".join(p.name for p in model.mig_profiles),
    )


def _mixed_layout(
    view: _Labels,
    model: GpuModel | None,
    counts: Mapping[str, tuple[str, int | None]],
    gpu_count: int,
) -> tuple[str, ...]:
    first = min(name for name, _ in counts.values())
    mig_model = _need_mig_model(view, first, model)
    if gpu_count <= 0:
        raise view.error(
            first,
            "cannot tell how many GPUs hold these MIG instances",
            hint=f"add {COUNT}, the node's physical GPUs",
        )
    layout: list[str] = []
    for profile_name, (name, n) in sorted(counts.items()):
        try:
            profile = mig_model.mig_profile(profile_name)
        except InputError as exc:
            raise view.error(name, exc.message, exc.hint) from None
        if (n or 0) % gpu_count:
            raise view.error(
                name,
                f"{n} instances of {profile.name} do not split evenly over {gpu_count} GPUs, "
                "and labels do not say which GPU holds which",
                hint="describe such a node in a cluster spec (gpuSharing per GPU)",
            )
        layout += [profile.name] * ((n or 0) // gpu_count)
    if not fits_together(mig_model, layout):
        raise view.error(first, f"{layout} per GPU do not fit one {mig_model.product}")
    return _canonical(mig_model, layout)


def _config_layout(view: _Labels, model: GpuModel, name: str) -> tuple[str, ...]:
    """A mig-parted config name as a layout of one GPU."""
    if name == MIG_CONFIG_ENABLED:
        return ()  # MIG mode on, no instances yet
    # Label values cannot hold "+", so mig-parted names the "+me" configs "...gb.me".
    if name.startswith("all-") and name.endswith(".me"):
        name = name.removesuffix(".me") + "+me"
    try:
        return named_layout(model, name)
    except InputError as exc:
        # An all-<profile> name failed on its profile: the profiles the model has help more.
        hint = exc.hint if name.startswith("all-") else _CUSTOM_MIG_CONFIG
        raise view.error(MIG_CONFIG, exc.message, hint) from None


def _canonical(model: GpuModel, layout: Sequence[str]) -> tuple[str, ...]:
    """A layout in one order (smallest first), so that equal layouts compare equal."""
    profiles = sorted(
        (model.mig_profile(name) for name in layout),
        key=lambda p: (p.compute_slices, p.memory_slices, p.name),
    )
    return tuple(p.name for p in profiles)


# ---------------------------------------------------------------------------- ConfigMaps


def select_config(
    node_labels: Mapping[str, str],
    configmaps: Sequence[DevicePluginConfigMap],
    *,
    node: str | None = None,
    default: str | None = None,
    where: Location | None = None,
) -> DevicePluginConfig | None:
    """The config the device plugin on a node serves, or None when it would serve none.

    The node label nvidia.com/device-plugin.config names it; without the label, `default`
    (the chart's config.default, the config-manager's DEFAULT_CONFIG), else the config named
    "default", else the only config there is. A name no ConfigMap holds is an InputError
    (the config-manager fails the same way). Configs of several ConfigMaps are pooled; the
    plugin reads one ConfigMap, so a name in two of them is an InputError too.
    """
    pool: dict[str, tuple[DevicePluginConfig, DevicePluginConfigMap]] = {}
    for cm in configmaps:
        for key, config in cm.configs.items():
            if key in pool:
                other = pool[key][1]
                raise InputError(
                    f"config {key!r} is in ConfigMaps {other.namespace}/{other.name} and "
                    f"{cm.namespace}/{cm.name}; the device plugin reads one ConfigMap",
                    where=cm.source,
                    hint="keep one device plugin ConfigMap, or give each config its own name",
                )
            pool[key] = (config, cm)
    who = f"node {node}" if node else "the node"
    chosen = node_labels.get(CONFIG_LABEL) or None
    label = CONFIG_LABEL
    if chosen is None and default is not None:
        chosen, label = default, "the default config"
    if chosen is not None:
        if chosen not in pool:
            known = ", ".join(sorted(pool)) or "none"
            raise InputError(
                f"{who} asks for device plugin config {chosen!r} ({label}), which no "
                f"ConfigMap holds",
                where=(where or Location()).child(CONFIG_LABEL) if label == CONFIG_LABEL else None,
                hint=f"configs found: {known}",
            )
        return pool[chosen][0]
    if DEFAULT_CONFIG_NAME in pool:
        return pool[DEFAULT_CONFIG_NAME][0]
    if len(pool) == 1:
        return next(iter(pool.values()))[0]
    return None


def sharing_from_device_plugin_config(
    config: DevicePluginConfig,
    gpu_count: int,
    model: GpuModel | None = None,
    where: Location | None = None,
) -> NodeSharing:
    """The sharing a device plugin config gives a node of `gpu_count` physical GPUs.

    The config sets migStrategy and the replicas of nvidia.com/gpu; which GPUs are in MIG mode
    is mig-manager's business (the node's nvidia.com/mig.config), not the plugin's.
    `devices` picks the GPUs replicated: all, the first N (the plugin takes any N; gpuplane
    takes the lowest indices, to be deterministic) or a list of indices; the others stay
    whole nvidia.com/gpu. UUIDs cannot be resolved in a simulated cluster and MIG devices
    cannot be replicated yet: both are refused. `where` places errors (the ConfigMap).
    """
    base = (where or Location()).child(f"data.{config.name}")
    strategy = MigStrategy(config.mig_strategy)
    if config.time_slicing is not None and config.mps is not None:
        raise ManifestError(
            "timeSlicing and mps are mutually exclusive", where=base.child("sharing")
        )
    kind, shared = SharingKind.TIME_SLICING, config.time_slicing
    if config.mps is not None:
        kind, shared = SharingKind.MPS, config.mps
    if shared is None:
        return NodeSharing(mig_strategy=strategy)
    at = base.child(f"sharing.{'mps' if kind is SharingKind.MPS else 'timeSlicing'}")
    gpu_entries: list[tuple[int, ReplicatedResource]] = []
    for i, entry in enumerate(shared.resources):
        name = _qualified(entry.name)
        if name == GPU:
            gpu_entries.append((i, entry))
        elif name.startswith(MIG_PREFIX):
            if strategy is MigStrategy.MIXED:
                raise ManifestError(
                    f"replicating MIG devices ({name}) is not supported yet",
                    where=at.child(f"resources[{i}].name"),
                    hint="replicate nvidia.com/gpu, or use MIG instances whole",
                )
            # Without the mixed strategy no such resource exists: the plugin skips the entry.
        else:
            raise ManifestError(
                f"the device plugin replicates nvidia.com/gpu and MIG resources, not {name}",
                where=at.child(f"resources[{i}].name"),
            )
    if not gpu_entries:
        return NodeSharing(mig_strategy=strategy)
    if len(gpu_entries) > 1:
        raise ManifestError(
            "nvidia.com/gpu appears in two resources entries",
            where=at.child(f"resources[{gpu_entries[1][0]}]"),
            hint="one entry per resource; pick GPUs with its devices field",
        )
    index, entry = gpu_entries[0]
    entry_at = at.child(f"resources[{index}]")
    _check_replicas(kind, entry.replicas, model, entry_at.child("replicas"))
    replicated = GpuSharing(
        kind=kind,
        replicas=entry.replicas,
        resource=_qualified(entry.rename) if entry.rename else GPU,
        fail_requests_greater_than_one=shared.fail_requests_greater_than_one,
    )
    chosen = _replicated_gpus(entry.devices, gpu_count, entry_at.child("devices"))
    if chosen is None:
        return NodeSharing(default=replicated, mig_strategy=strategy)
    # GPUs left out keep their own name: the plugin advertises them whole as nvidia.com/gpu.
    return NodeSharing(
        default=EXCLUSIVE, per_gpu={g: replicated for g in chosen}, mig_strategy=strategy
    )


def _qualified(name: str) -> str:
    # The plugin prefixes a bare name with nvidia.com/ (api/config/v1 NewResourceName).
    return name if "/" in name else f"nvidia.com/{name}"


def _replicated_gpus(
    devices: str | int | tuple[str, ...], gpu_count: int, at: Location
) -> list[int] | None:
    """The GPU indices `devices` selects, or None for all of them."""
    if devices == "all":
        return None
    if isinstance(devices, int):
        if devices > gpu_count:
            raise ManifestError(
                f"requested {devices} devices to be replicated, but only {gpu_count} are available",
                where=at,
            )
        return None if devices == gpu_count else list(range(devices))
    chosen: list[int] = []
    for ref in devices:
        if not ref.isdigit():
            what = (
                "MIG devices cannot be replicated yet"
                if ":" in ref
                else ("UUIDs cannot be resolved in a simulated cluster")
            )
            raise ManifestError(
                f"device {ref!r}: {what}", where=at, hint="name GPUs by index: [0, 1]"
            )
        gpu = int(ref)
        if gpu >= gpu_count:
            raise ManifestError(
                f"no matching device at index {gpu}: the node has {gpu_count} GPUs", where=at
            )
        if gpu not in chosen:
            chosen.append(gpu)
    return None if sorted(chosen) == list(range(gpu_count)) else sorted(chosen)


def labels_decide(sharing: NodeSharing, gpu_count: int) -> bool:
    """Whether labels show a mode the device plugin already serves, which a config must not undo.

    Replicas, fractions, vGPUs, dynamic MIG and MIG devices GFD counted (any strategy but
    none) all do; an exclusive node does not, nor MIG GPUs known only from mig.config, which
    still wait for a migStrategy to be advertised.
    """
    if sharing.dynamic_mig:
        return True
    kinds = sharing.kinds(gpu_count)
    if kinds - {SharingKind.EXCLUSIVE, SharingKind.MIG}:
        return True
    return SharingKind.MIG in kinds and sharing.mig_strategy is not MigStrategy.NONE


def apply_config(
    labels_sharing: NodeSharing,
    config_sharing: NodeSharing,
    gpu_count: int,
    where: Location | None = None,
) -> NodeSharing:
    """A node's sharing once its device plugin config applies to what its labels say.

    Labels that show a mode the plugin serves win (`labels_decide`). MIG GPUs known from
    mig.config keep their layout and take the config's migStrategy; the plugin does not
    replicate MIG-enabled GPUs, so the config's replicas then apply to no GPU, except under
    single, where MIG devices are nvidia.com/gpu and replicating them is not supported yet.
    Otherwise the config decides.
    """
    if labels_decide(labels_sharing, gpu_count):
        return labels_sharing
    if SharingKind.MIG not in labels_sharing.kinds(gpu_count):
        return config_sharing
    replicated = any(config_sharing.for_gpu(g).replicated for g in range(gpu_count))
    if replicated and config_sharing.mig_strategy is MigStrategy.SINGLE:
        raise ManifestError(
            "replicas of MIG devices (nvidia.com/gpu under migStrategy single) are not "
            "supported yet",
            where=where,
        )
    if any(config_sharing.for_gpu(g).kind is SharingKind.MPS for g in range(gpu_count)):
        raise ManifestError("the device plugin does not share MIG devices with MPS", where=where)
    return NodeSharing(
        default=labels_sharing.default,
        per_gpu=labels_sharing.per_gpu,
        mig_strategy=config_sharing.mig_strategy,
    )
