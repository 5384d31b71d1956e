"""The MIG layout of a node's GPUs, read from GFD's labels and mig-manager's config name.

What GFD counts runs now, so it decides the layout: under the single strategy the product
reads "<model>-MIG-<profile>" and nvidia.com/gpu.count counts MIG devices; under mixed each
profile has nvidia.com/mig-<profile>.count. nvidia.com/mig.config (mig-parted's config name:
all-1g.10gb, all-balanced, all-1g.10gb.me, all-disabled) gives the layout where GFD's labels
do not, and only once nvidia.com/mig.config.state, when present, is "success". Labels do not
say which GPU holds which instance, so every GPU is taken to hold the same layout.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from gpuplane.catalog import GpuModel, MigProfile, fits_together
from gpuplane.catalog.labels import (
    COUNT,
    MIG_CONFIG,
    MIG_CONFIG_DISABLED,
    MIG_INVALID,
    PRODUCT,
    RESOURCE_COUNT,
    RESOURCE_REPLICAS,
)
from gpuplane.catalog.mig import named_layout
from gpuplane.catalog.resources import mig_name
from gpuplane.errors import InputError
from gpuplane.sharing.label_view import MIG_RESOURCE_LABEL, LabelView
from gpuplane.sharing.labels import sanitise
from gpuplane.sharing.modes import MigStrategy

_CUSTOM_MIG_CONFIG = (
    "gpuplane knows mig-parted's default configs (all-disabled, all-enabled, all-balanced, "
    "all-<profile>); describe a node with a custom one in a cluster spec"
)


def need_mig_model(view: LabelView, name: str, model: GpuModel | None) -> GpuModel:
    """`model`, which MIG labels need for its geometry; ManifestError at `name` if unfit."""
    if model is None:
        raise view.error(
            name,
            "MIG needs a GPU model gpuplane knows (for its MIG geometry)",
            hint=f"set {PRODUCT} to a product in gpuplane's catalog",
        )
    if not model.mig_capable:
        raise view.error(name, f"{model.product} is not MIG-capable")
    return model


def mig_layout(
    view: LabelView, model: GpuModel | None, gpu_count: int, strategy: MigStrategy | None
) -> tuple[tuple[str, ...] | None, MigStrategy | None]:
    """The layout every GPU holds, or None when MIG is off; and the strategy labels imply."""
    _refuse_mig_replicas(view)
    product = view.product()
    profile_text = product.group("mig") if product is not None else None
    counts = {
        match.group("profile"): (name, view.whole(name))
        for name in view.values
        if (match := MIG_RESOURCE_LABEL.match(name)) and match.group("what") == RESOURCE_COUNT
    }
    counts = {p: (name, n) for p, (name, n) in counts.items() if n}  # GFD omits empty ones
    if profile_text is not None:
        if strategy not in (None, MigStrategy.SINGLE):
            raise view.error(
                PRODUCT, "names a MIG profile, which GFD does under the single strategy only"
            )
        if product is not None and product.group("shared"):
            raise view.error(PRODUCT, "replicas of MIG devices are not supported yet")
        return single_layout(view, model, profile_text, gpu_count), MigStrategy.SINGLE
    if counts:
        first = min(name for name, _ in counts.values())
        if strategy not in (None, MigStrategy.MIXED):
            raise view.error(first, "GFD writes per-profile MIG labels under mixed only")
        return _mixed_layout(view, model, counts, gpu_count), MigStrategy.MIXED
    config = view.mig_config()
    if config is None or config == MIG_CONFIG_DISABLED:
        return None, None
    mig_model = need_mig_model(view, MIG_CONFIG, model)
    return _canonical(mig_model, _config_layout(view, mig_model, config)), None


def _refuse_mig_replicas(view: LabelView) -> None:
    for name in sorted(view.values):
        match = MIG_RESOURCE_LABEL.match(name)
        if match and match.group("what") == RESOURCE_REPLICAS and (view.whole(name) or 0) > 1:
            raise view.error(name, "replicas of MIG devices are not supported yet")


def single_layout(
    view: LabelView, model: GpuModel | None, profile_text: str, gpu_count: int
) -> tuple[str, ...]:
    """The layout under single: one profile, as many per GPU as GFD counts or mig.config says."""
    if profile_text == MIG_INVALID:
        raise view.error(
            PRODUCT,
            "GFD found a MIG configuration the single strategy cannot serve (more than one "
            "profile, an empty MIG GPU, or whole GPUs beside MIG ones)",
            hint="give every GPU one profile (e.g. all-1g.10gb) or use the mixed strategy",
        )
    mig_model = need_mig_model(view, PRODUCT, model)
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


def _profile_from_product(view: LabelView, model: GpuModel, text: str) -> MigProfile:
    # GFD writes "1g.10gb+me" as "1g.10gb.me"; releases before it did wrote "1g.10gbme".
    for profile in model.mig_profiles:
        if text in (mig_name(profile.name), sanitise(profile.name)):
            return profile
    raise view.error(
        PRODUCT,
        f"{model.product} has no MIG profile {text!r}",
        hint="its profiles are " + ", ".join(p.name for p in model.mig_profiles),
    )


def _mixed_layout(
    view: LabelView,
    model: GpuModel | None,
    counts: Mapping[str, tuple[str, int | None]],
    gpu_count: int,
) -> tuple[str, ...]:
    first = min(name for name, _ in counts.values())
    mig_model = need_mig_model(view, first, model)
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


def _config_layout(view: LabelView, model: GpuModel, name: str) -> tuple[str, ...]:
    """A mig-parted config name as a layout of one GPU."""
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
