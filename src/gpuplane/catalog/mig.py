"""MIG placement geometry: the memory slices an instance takes, and which sets fit one GPU.

A GPU instance of a profile occupies `memory_slices` consecutive memory slices starting at one
of the profile's `starts`, and uses `compute_slices` of the GPU's compute slices. Instances on
one GPU may not share a memory slice, and their compute slices may not add up to more than the
GPU has; that is why 4g.40gb + 3g.40gb fit an A100 80GB but 4g.40gb + 4g.40gb do not, and why
seven 1g.10gb fit while the eighth memory slice stays empty.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

from gpuplane.catalog.models import GpuModel, MigProfile


def slot_mask(profile: MigProfile, start: int) -> int:
    """The bitmask of memory slices `profile` occupies from `start` (bit i is slice i)."""
    if start not in profile.starts:
        raise ValueError(
            f"MIG profile {profile.name} cannot start at memory slice {start}; "
            f"its starts are {list(profile.starts)}"
        )
    return ((1 << profile.memory_slices) - 1) << start


def placements_for(
    model: GpuModel,
    profile_name: str,
    used_mask: int,
    used_compute: int,
    *,
    media_in_use: bool = False,
) -> list[int]:
    """Free start positions for `profile_name` on a GPU with those slices taken, ascending.

    `used_mask` holds the occupied memory slices, `used_compute` the compute slices in use.
    Set `media_in_use` when a "+me" instance already exists: the GPU has one set of media
    engines, so a second "+me" profile has no place. Raises InputError for a profile the
    model does not have.
    """
    profile = model.mig_profile(profile_name)
    if used_compute + profile.compute_slices > model.mig_compute_slices:
        return []
    if media_in_use and profile.media_extensions:
        return []
    return [start for start in profile.starts if not slot_mask(profile, start) & used_mask]


def fits_together(model: GpuModel, profile_names: Sequence[str]) -> bool:
    """Whether instances of all `profile_names` (a multiset) fit one empty GPU of `model`."""
    return pack(model, profile_names) is not None


def pack(model: GpuModel, profile_names: Sequence[str]) -> list[tuple[str, int]] | None:
    """One layout for `profile_names` on one empty GPU: (profile, start) in input order, or None.

    Searches largest profiles first (most memory slices, then most compute), each at its
    lowest free start, backtracking from dead ends; the same input gives the same layout.
    """
    profiles = [model.mig_profile(name) for name in profile_names]
    if not _within_limits(model, profiles):
        return None
    order = sorted(
        range(len(profiles)),
        key=lambda i: (-profiles[i].memory_slices, -profiles[i].compute_slices, profiles[i].name),
    )
    starts: dict[int, int] = {}
    if not _search(model, profiles, order, 0, 0, 0, False, starts):
        return None
    return [(profile.name, starts[i]) for i, profile in enumerate(profiles)]


def _within_limits(model: GpuModel, profiles: list[MigProfile]) -> bool:
    """Counting checks that need no search; the last two only prune it early."""
    counts = Counter(p.name for p in profiles)
    by_name = {p.name: p for p in profiles}
    return (
        all(counts[name] <= by_name[name].max_instances for name in counts)
        and sum(p.media_extensions for p in profiles) <= 1
        and sum(p.compute_slices for p in profiles) <= model.mig_compute_slices
        and sum(p.memory_slices for p in profiles) <= model.mig_memory_slices
    )


def _search(
    model: GpuModel,
    profiles: list[MigProfile],
    order: list[int],
    depth: int,
    used_mask: int,
    used_compute: int,
    media_in_use: bool,
    starts: dict[int, int],
) -> bool:
    if depth == len(order):
        return True
    index = order[depth]
    profile = profiles[index]
    # Equal profiles sit next to each other in `order` and are interchangeable: placing them
    # at ascending starts only skips layouts that are permutations of ones already tried.
    lowest = 0
    if depth > 0 and profiles[order[depth - 1]] == profile:
        lowest = starts[order[depth - 1]] + 1
    free = placements_for(model, profile.name, used_mask, used_compute, media_in_use=media_in_use)
    for start in free:
        if start < lowest:
            continue
        starts[index] = start
        if _search(
            model,
            profiles,
            order,
            depth + 1,
            used_mask | slot_mask(profile, start),
            used_compute + profile.compute_slices,
            media_in_use or profile.media_extensions,
            starts,
        ):
            return True
    starts.pop(index, None)
    return False


#: mig-parted's "all-balanced" configs, by the GPU's compute slices: instances per compute size.
_BALANCED: dict[int, dict[int, int]] = {7: {1: 2, 2: 1, 3: 1}, 4: {1: 2, 2: 1}}


def named_layout(model: GpuModel, name: str) -> tuple[str, ...]:
    """A layout by mig-parted's config names (the GPU Operator's default mig-parted config).

    "all-disabled" and "all-enabled" (MIG on, no instances) hold no instance;
    "all-<profile>" is as many instances of the profile as fit alone on the GPU, where a
    "+me" profile is named with ".me" ("all-1g.10gb.me") since label values cannot hold "+";
    "all-balanced" mixes the smallest profiles of 1, 2 and 3 compute slices as mig-parted's
    config does (on A100 80GB: 2 x 1g.10gb, 1 x 2g.20gb, 1 x 3g.40gb).
    """
    from gpuplane.errors import InputError

    if name in ("all-disabled", "all-enabled"):
        return ()
    if name == "all-balanced":
        counts = _BALANCED.get(model.mig_compute_slices, {})
        layout: list[str] = []
        for slices, count in counts.items():
            candidates = [
                p
                for p in model.mig_profiles
                if p.compute_slices == slices and not p.media_extensions
            ]
            smallest = min(candidates, key=lambda p: (p.memory_slices, p.memory_mib))
            layout += [smallest.name] * count
        return tuple(layout)
    if name.startswith("all-"):
        profile = model.mig_profile(name.removeprefix("all-"))
        return (profile.name,) * profile.max_instances
    raise InputError(
        f"unknown MIG layout name {name!r}",
        hint="use all-disabled, all-enabled, all-balanced, all-<profile> or a list of profiles",
    )


def layout_from_counts(model: GpuModel, counts: Mapping[str, int]) -> tuple[str, ...]:
    """A layout from mig-parted's `mig-devices` (profile -> count), checked as mig-parted does.

    Every profile must be one the model has and every count positive, and the instances must
    fit one GPU together; InputError says which rule failed.
    """
    from gpuplane.errors import InputError

    layout: list[str] = []
    for name, count in counts.items():
        profile = model.mig_profile(name)
        if count <= 0:
            raise InputError(f"MIG profile {name}: the count must be positive, got {count}")
        layout += [profile.name] * count
    if not fits_together(model, layout):
        raise InputError(f"MIG devices {dict(counts)} do not fit one {model.product}")
    return tuple(layout)
