"""MIG placement geometry: slot masks, free placements, and which profile sets fit one GPU."""

from __future__ import annotations

import itertools
import random
from collections import Counter
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpuplane.catalog import (
    GpuModel,
    all_models,
    fits_together,
    lookup,
    pack,
    placements_for,
    slot_mask,
)
from gpuplane.errors import InputError

MIG_MODELS = [model for model in all_models() if model.mig_capable]

A100_40 = "NVIDIA-A100-SXM4-40GB"
A100_80 = "NVIDIA-A100-SXM4-80GB"
A30 = "NVIDIA-A30"
H100 = "NVIDIA-H100-80GB-HBM3"
H100_NVL = "NVIDIA-H100-NVL"
H200 = "NVIDIA-H200"


def times(count: int, name: str) -> list[str]:
    return [name] * count


def assert_valid_layout(
    model: GpuModel, names: Sequence[str], layout: Sequence[tuple[str, int]]
) -> None:
    """Check a layout against the MIG rules directly, without the code under test's search."""
    assert [model.mig_profile(n).name for n in names] == [name for name, _ in layout]
    used = 0
    compute = 0
    for name, start in layout:
        profile = model.mig_profile(name)
        assert start in profile.starts
        mask = ((1 << profile.memory_slices) - 1) << start
        assert mask & used == 0, f"{name}@{start} overlaps"
        assert mask < 1 << model.mig_memory_slices
        used |= mask
        compute += profile.compute_slices
    assert compute <= model.mig_compute_slices
    counts = Counter(name for name, _ in layout)
    assert all(counts[n] <= model.mig_profile(n).max_instances for n in counts)
    assert sum(name.endswith("+me") for name, _ in layout) <= 1


# ------------------------------------------------------------------------ slot_mask


def test_slot_mask_covers_consecutive_memory_slices() -> None:
    model = lookup(A100_80)
    assert slot_mask(model.mig_profile("1g.10gb"), 6) == 0b0100_0000
    assert slot_mask(model.mig_profile("1g.20gb"), 6) == 0b1100_0000
    assert slot_mask(model.mig_profile("2g.20gb"), 2) == 0b0000_1100
    assert slot_mask(model.mig_profile("3g.40gb"), 4) == 0b1111_0000
    assert slot_mask(model.mig_profile("4g.40gb"), 0) == 0b0000_1111
    assert slot_mask(model.mig_profile("7g.80gb"), 0) == 0b1111_1111


@pytest.mark.parametrize(("name", "start"), [("1g.10gb", 7), ("2g.20gb", 1), ("3g.40gb", 2)])
def test_slot_mask_rejects_a_start_the_profile_does_not_allow(name: str, start: int) -> None:
    with pytest.raises(ValueError, match="cannot start"):
        slot_mask(lookup(A100_80).mig_profile(name), start)


# ------------------------------------------------------------------------ placements_for


@pytest.mark.parametrize("model", MIG_MODELS, ids=lambda m: m.product)
def test_every_start_is_free_on_an_empty_gpu(model: GpuModel) -> None:
    for profile in model.mig_profiles:
        assert placements_for(model, profile.name, 0, 0) == list(profile.starts)


def test_placements_avoid_used_slices() -> None:
    model = lookup(A100_80)
    four_g = slot_mask(model.mig_profile("4g.40gb"), 0)
    assert placements_for(model, "3g.40gb", four_g, 4) == [4]
    assert placements_for(model, "4g.40gb", four_g, 4) == []
    assert placements_for(model, "1g.20gb", four_g, 4) == [4, 6]
    assert placements_for(model, "2g.20gb", 0b0011_0000, 2) == [0, 2]


def test_placements_respect_the_compute_limit() -> None:
    model = lookup(A100_80)
    # 4g + 2g leave memory slices 6 and 7 free but only one compute slice
    used = slot_mask(model.mig_profile("4g.40gb"), 0) | slot_mask(model.mig_profile("2g.20gb"), 4)
    assert placements_for(model, "1g.10gb", used, 6) == [6]
    assert placements_for(model, "1g.20gb", used, 6) == [6]
    assert placements_for(model, "2g.20gb", used, 6) == []
    # seven 1g leave slice 7 free, but no compute slice to go with it
    seven = sum(slot_mask(model.mig_profile("1g.10gb"), s) for s in range(7))
    assert placements_for(model, "1g.10gb", seven, 7) == []


def test_only_one_media_extension_profile_per_gpu() -> None:
    model = lookup(A30)
    assert placements_for(model, "2g.12gb+me", 0b0001, 1) == [2]
    assert placements_for(model, "2g.12gb+me", 0b0001, 1, media_in_use=True) == []
    assert placements_for(model, "2g.12gb", 0b0001, 1, media_in_use=True) == [2]


def test_placements_for_an_unknown_profile_is_an_input_error() -> None:
    with pytest.raises(InputError, match="no MIG profile"):
        placements_for(lookup(A30), "1g.10gb", 0, 0)


# ------------------------------------------------------------------------ what fits

FITS: list[tuple[str, list[str]]] = [
    # A100 40GB
    (A100_40, times(7, "1g.5gb")),
    (A100_40, times(4, "1g.10gb")),
    (A100_40, times(3, "2g.10gb")),
    (A100_40, ["4g.20gb", "3g.20gb"]),
    (A100_40, times(2, "3g.20gb")),
    (A100_40, ["3g.20gb", "2g.10gb", "2g.10gb"]),
    (A100_40, ["4g.20gb", "2g.10gb", "1g.5gb"]),
    (A100_40, ["3g.20gb", "2g.10gb", "1g.5gb", "1g.5gb"]),
    (A100_40, ["1g.5gb+me", *times(6, "1g.5gb")]),
    (A100_40, ["7g.40gb"]),
    # A100 80GB
    (A100_80, times(7, "1g.10gb")),
    (A100_80, times(3, "2g.20gb")),
    (A100_80, ["4g.40gb", "3g.40gb"]),
    (A100_80, times(2, "3g.40gb")),
    (A100_80, ["3g.40gb", "2g.20gb", "2g.20gb"]),
    (A100_80, ["2g.20gb", "2g.20gb", "2g.20gb", "1g.10gb"]),
    (A100_80, times(4, "1g.20gb")),
    (A100_80, [*times(3, "1g.20gb"), *times(2, "1g.10gb")]),
    (A100_80, [*times(6, "1g.10gb"), "1g.20gb"]),
    (A100_80, ["7g.80gb"]),
    (A100_80, []),
    # A30
    (A30, times(4, "1g.6gb")),
    (A30, times(2, "2g.12gb")),
    (A30, ["4g.24gb"]),
    (A30, ["2g.12gb", "1g.6gb", "1g.6gb"]),
    (A30, ["1g.6gb+me", "1g.6gb", "1g.6gb", "1g.6gb"]),
    (A30, ["2g.12gb+me", "2g.12gb"]),
    # H100 80GB
    (H100, times(7, "1g.10gb")),
    (H100, times(3, "2g.20gb")),
    (H100, ["4g.40gb", "3g.40gb"]),
    (H100, ["4g.40gb", "2g.20gb", "1g.10gb"]),
    (H100, times(4, "1g.20gb")),
    (H100, ["7g.80gb"]),
    # H100 NVL
    (H100_NVL, times(7, "1g.12gb")),
    (H100_NVL, ["4g.47gb", "3g.47gb"]),
    # H200
    (H200, times(7, "1g.18gb")),
    (H200, ["4g.71gb", "3g.71gb"]),
    (H200, times(2, "3g.71gb")),
    (H200, [*times(3, "2g.35gb"), "1g.18gb"]),
    (H200, times(4, "1g.35gb")),
    (H200, ["7g.141gb"]),
]

DOES_NOT_FIT: list[tuple[str, list[str]]] = [
    # A100 40GB
    (A100_40, times(8, "1g.5gb")),
    (A100_40, times(5, "1g.10gb")),
    (A100_40, times(2, "4g.20gb")),
    (A100_40, ["7g.40gb", "1g.5gb"]),
    (A100_40, times(2, "1g.5gb+me")),
    # A100 80GB
    (A100_80, times(8, "1g.10gb")),
    (A100_80, times(4, "2g.20gb")),
    (A100_80, times(2, "4g.40gb")),
    (A100_80, ["7g.80gb", "1g.10gb"]),
    (A100_80, times(3, "3g.40gb")),
    (A100_80, times(5, "1g.20gb")),
    (A100_80, [*times(4, "1g.20gb"), "1g.10gb"]),
    (A100_80, ["3g.40gb", "3g.40gb", "1g.10gb"]),  # compute would fit, memory does not
    (A100_80, ["4g.40gb", "2g.20gb", "2g.20gb"]),  # memory would fit, compute does not
    (A100_80, times(2, "1g.10gb+me")),
    # A30
    (A30, times(5, "1g.6gb")),
    (A30, times(3, "2g.12gb")),
    (A30, ["4g.24gb", "1g.6gb"]),
    (A30, ["1g.6gb+me", "2g.12gb+me"]),  # one set of media engines per GPU
    (A30, times(2, "2g.12gb+me")),
    # H100 80GB
    (H100, times(8, "1g.10gb")),
    (H100, times(2, "4g.40gb")),
    (H100, ["7g.80gb", "1g.10gb"]),
    # H100 NVL
    (H100_NVL, times(2, "4g.47gb")),
    # H200
    (H200, times(8, "1g.18gb")),
    (H200, times(2, "4g.71gb")),
    (H200, times(5, "1g.35gb")),
    (H200, ["7g.141gb", "1g.18gb"]),
]


def case_id(case: tuple[str, list[str]]) -> str:
    product, names = case
    counts = Counter(names)
    return f"{product}:" + "+".join(f"{n}x{name}" for name, n in counts.items())


@pytest.mark.parametrize("case", FITS, ids=case_id)
def test_fits(case: tuple[str, list[str]]) -> None:
    product, names = case
    model = lookup(product)
    assert fits_together(model, names)
    layout = pack(model, names)
    assert layout is not None
    assert_valid_layout(model, names, layout)


@pytest.mark.parametrize("case", DOES_NOT_FIT, ids=case_id)
def test_does_not_fit(case: tuple[str, list[str]]) -> None:
    product, names = case
    model = lookup(product)
    assert not fits_together(model, names)
    assert pack(model, names) is None
    assert not brute_force_fits(model, names)


def test_pack_keeps_input_order_and_is_deterministic() -> None:
    model = lookup(A100_80)
    names = ["1g.10gb", "3g.40gb", "2g.20gb"]
    layout = pack(model, names)
    assert layout == [("1g.10gb", 6), ("3g.40gb", 0), ("2g.20gb", 4)]
    assert pack(model, list(names)) == layout


def test_pack_backtracks_when_the_lowest_start_is_a_dead_end() -> None:
    # 3g at start 0 leaves no room for two 2g; only 3g at start 4 works
    model = lookup(A100_80)
    assert pack(model, ["3g.40gb", "2g.20gb", "2g.20gb"]) == [
        ("3g.40gb", 4),
        ("2g.20gb", 0),
        ("2g.20gb", 2),
    ]


def test_pack_uses_canonical_profile_names() -> None:
    assert pack(lookup(H100), ["nvidia.com/mig-1g.10gb", "MIG-2G.20GB"]) == [
        ("1g.10gb", 2),
        ("2g.20gb", 0),
    ]


def test_non_mig_model_fits_nothing_but_the_empty_set() -> None:
    t4 = lookup("T4")
    assert fits_together(t4, [])
    with pytest.raises(InputError, match="not MIG capable"):
        fits_together(t4, ["1g.10gb"])


# ------------------------------------------------------------------------ properties


def brute_force_fits(model: GpuModel, names: Sequence[str]) -> bool:
    """Try every combination of starts: the oracle `pack` must agree with."""
    profiles = [model.mig_profile(n) for n in names]
    counts = Counter(p.name for p in profiles)
    if any(counts[p.name] > p.max_instances for p in profiles):
        return False
    if sum(p.media_extensions for p in profiles) > 1:
        return False
    if sum(p.compute_slices for p in profiles) > model.mig_compute_slices:
        return False
    for starts in itertools.product(*(p.starts for p in profiles)):
        used = 0
        for profile, start in zip(profiles, starts, strict=True):
            mask = ((1 << profile.memory_slices) - 1) << start
            if mask & used:
                break
            used |= mask
        else:
            return True
    return False


@st.composite
def model_and_profiles(draw: st.DrawFn, max_size: int) -> tuple[GpuModel, list[str]]:
    model = draw(st.sampled_from(MIG_MODELS))
    names = [p.name for p in model.mig_profiles]
    return model, draw(st.lists(st.sampled_from(names), max_size=max_size))


@settings(max_examples=300, deadline=None)
@given(model_and_profiles(max_size=9))
def test_every_layout_pack_returns_is_valid(case: tuple[GpuModel, list[str]]) -> None:
    model, names = case
    layout = pack(model, names)
    assert fits_together(model, names) == (layout is not None)
    if layout is not None:
        assert_valid_layout(model, names, layout)


@settings(max_examples=300, deadline=None)
@given(model_and_profiles(max_size=5))
def test_pack_finds_a_layout_whenever_one_exists(case: tuple[GpuModel, list[str]]) -> None:
    model, names = case
    assert (pack(model, names) is not None) == brute_force_fits(model, names)


@settings(max_examples=200, deadline=None)
@given(model_and_profiles(max_size=8), st.randoms(use_true_random=False))
def test_fitting_does_not_depend_on_order(
    case: tuple[GpuModel, list[str]], rnd: random.Random
) -> None:
    model, names = case
    shuffled = list(names)
    rnd.shuffle(shuffled)
    assert fits_together(model, names) == fits_together(model, shuffled)


@settings(max_examples=200, deadline=None)
@given(model_and_profiles(max_size=8))
def test_placements_for_agrees_with_slot_masks(case: tuple[GpuModel, list[str]]) -> None:
    model, names = case
    layout = pack(model, names)
    if layout is None:
        return
    used = 0
    compute = 0
    for name, start in layout:
        profile = model.mig_profile(name)
        used |= slot_mask(profile, start)
        compute += profile.compute_slices
    for profile in model.mig_profiles:
        for start in placements_for(model, profile.name, used, compute):
            assert slot_mask(profile, start) & used == 0
            assert compute + profile.compute_slices <= model.mig_compute_slices
