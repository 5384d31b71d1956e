"""The GPU catalog table: lookup by name and alias, and the table's own consistency."""

from __future__ import annotations

import dataclasses
from importlib import resources

import pytest

from gpuplane.catalog import GpuModel, all_models, lookup
from gpuplane.catalog.models import FAMILIES, parse_table
from gpuplane.errors import InputError, Location, UnknownGpuModelError

MODELS = all_models()
NAMES = [(model.product, name) for model in MODELS for name in (model.product, *model.aliases)]
MIG_MODELS = [model for model in MODELS if model.mig_capable]


def ids(model: GpuModel) -> str:
    return model.product


# ------------------------------------------------------------------------ lookup


@pytest.mark.parametrize(
    "product",
    [
        "NVIDIA-A100-SXM4-40GB",
        "NVIDIA-A100-PCIE-40GB",
        "NVIDIA-A100-SXM4-80GB",
        "NVIDIA-A100-80GB-PCIe",
        "NVIDIA-A30",
        "NVIDIA-H100-80GB-HBM3",
        "NVIDIA-H100-NVL",
        "NVIDIA-H200",
        "NVIDIA-L4",
        "NVIDIA-L40S",
        "Tesla-T4",
        "NVIDIA-A10",
        "NVIDIA-A10G",
        "Tesla-V100-SXM2-16GB",
        "Tesla-V100-SXM2-32GB",
        "Tesla-P100-PCIE-16GB",
        "ALIBABA-G2",
        "ALIBABA-G3",
    ],
)
def test_required_models_are_present(product: str) -> None:
    assert lookup(product).product == product


@pytest.mark.parametrize(("product", "name"), NAMES)
def test_lookup_by_product_and_every_alias_in_any_case(product: str, name: str) -> None:
    for spelling in (name, name.upper(), name.lower(), name.swapcase()):
        assert lookup(spelling).product == product


@pytest.mark.parametrize(("product", "name"), NAMES)
def test_lookup_ignores_gfd_shared_suffix(product: str, name: str) -> None:
    assert lookup(f"{name}-SHARED").product == product
    assert lookup(f"{name.lower()}-shared").product == product


@pytest.mark.parametrize(
    ("name", "product"),
    [
        ("T4", "Tesla-T4"),
        ("P100", "Tesla-P100-PCIE-16GB"),
        ("V100M16", "Tesla-V100-SXM2-16GB"),
        ("V100M32", "Tesla-V100-SXM2-32GB"),
        ("A10", "NVIDIA-A10"),
        ("G2", "ALIBABA-G2"),
        ("G3", "ALIBABA-G3"),
    ],
)
def test_openb_trace_codes(name: str, product: str) -> None:
    assert lookup(name).product == product


@pytest.mark.parametrize(
    ("name", "product"),
    [
        ("NVIDIA-H200-141GB-HBM3", "NVIDIA-H200"),
        ("h100", "NVIDIA-H100-80GB-HBM3"),
        ("a100-80gb", "NVIDIA-A100-SXM4-80GB"),
        # NVML's own names, with spaces where GFD has dashes
        ("NVIDIA H100 80GB HBM3", "NVIDIA-H100-80GB-HBM3"),
        ("Tesla T4", "Tesla-T4"),
        ("  NVIDIA A100-SXM4-80GB ", "NVIDIA-A100-SXM4-80GB"),
        # GFD's single MIG strategy appends the profile to the product label
        ("NVIDIA-A100-SXM4-40GB-MIG-1g.5gb", "NVIDIA-A100-SXM4-40GB"),
        ("NVIDIA-H100-80GB-HBM3-MIG-1g.10gb+me-SHARED", "NVIDIA-H100-80GB-HBM3"),
    ],
)
def test_lookup_other_spellings(name: str, product: str) -> None:
    assert lookup(name).product == product


def test_lookup_returns_the_same_object() -> None:
    assert lookup("h100") is lookup("NVIDIA-H100-80GB-HBM3")


def test_unknown_model_names_the_value_and_suggests_a_close_one() -> None:
    where = Location(file="nodes.yaml", line=7, field="spec.gpu")
    with pytest.raises(UnknownGpuModelError) as caught:
        lookup("NVIDIA-A100-SXM4-80G", where=where)
    error = caught.value
    assert isinstance(error, InputError)
    assert "'NVIDIA-A100-SXM4-80G'" in error.message
    assert error.where == where
    assert error.hint is not None and "did you mean" in error.hint
    assert "NVIDIA-A100-SXM4-80GB" in error.hint
    assert str(error).startswith("nodes.yaml:7: spec.gpu: unknown GPU model")


def test_unknown_alias_suggestion_names_the_product() -> None:
    with pytest.raises(UnknownGpuModelError) as caught:
        lookup("V100M33")
    assert caught.value.hint is not None
    assert "V100M32 (Tesla-V100-SXM2-32GB)" in caught.value.hint


def test_unknown_model_without_close_match_lists_known_models() -> None:
    with pytest.raises(UnknownGpuModelError) as caught:
        lookup("quantum-toaster")
    hint = caught.value.hint
    assert hint is not None and hint.startswith("known models: ")
    assert all(model.product in hint for model in MODELS)


@pytest.mark.parametrize("name", ["", "   ", "-SHARED"])
def test_blank_names_are_unknown(name: str) -> None:
    with pytest.raises(UnknownGpuModelError):
        lookup(name)


# ------------------------------------------------------------------------ the table


def test_names_are_unique_ignoring_case() -> None:
    keys = [name.casefold() for _, name in NAMES]
    assert len(keys) == len(set(keys))


@pytest.mark.parametrize("model", MODELS, ids=ids)
def test_model_fields_are_sane(model: GpuModel) -> None:
    assert model.family in FAMILIES
    assert model.memory_mib > 0
    assert model.max_mps_clients == (16 if model.family == "pascal" else 48)
    assert model.timeslicing_supported
    if model.mig_capable:
        assert (model.mig_memory_slices, model.mig_compute_slices) in {(8, 7), (4, 4)}
        assert model.compute_capability >= (8, 0)
    else:
        assert (model.mig_memory_slices, model.mig_compute_slices) == (0, 0)
        assert model.mig_profiles == ()


def test_models_are_frozen() -> None:
    model = lookup("h100")
    with pytest.raises(dataclasses.FrozenInstanceError):
        model.memory_mib = 1  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        model.mig_profiles[0].starts = ()  # type: ignore[misc]


@pytest.mark.parametrize(
    ("product", "memory_mib", "family", "capability"),
    [
        ("NVIDIA-A100-SXM4-80GB", 81920, "ampere", (8, 0)),
        ("NVIDIA-H100-80GB-HBM3", 81559, "hopper", (9, 0)),
        ("NVIDIA-L40S", 46068, "ada-lovelace", (8, 9)),
        ("Tesla-T4", 15360, "turing", (7, 5)),
        ("Tesla-V100-SXM2-16GB", 16384, "volta", (7, 0)),
        ("Tesla-P100-PCIE-16GB", 16384, "pascal", (6, 0)),
    ],
)
def test_known_figures(
    product: str, memory_mib: int, family: str, capability: tuple[int, int]
) -> None:
    model = lookup(product)
    assert (model.memory_mib, model.family, model.compute_capability) == (
        memory_mib,
        family,
        capability,
    )


EXPECTED_PROFILES = {
    "NVIDIA-A100-SXM4-40GB": "1g.5gb 1g.5gb+me 1g.10gb 2g.10gb 3g.20gb 4g.20gb 7g.40gb",
    "NVIDIA-A100-PCIE-40GB": "1g.5gb 1g.5gb+me 1g.10gb 2g.10gb 3g.20gb 4g.20gb 7g.40gb",
    "NVIDIA-A100-SXM4-80GB": "1g.10gb 1g.10gb+me 1g.20gb 2g.20gb 3g.40gb 4g.40gb 7g.80gb",
    "NVIDIA-A100-80GB-PCIe": "1g.10gb 1g.10gb+me 1g.20gb 2g.20gb 3g.40gb 4g.40gb 7g.80gb",
    "NVIDIA-A30": "1g.6gb 1g.6gb+me 2g.12gb 2g.12gb+me 4g.24gb",
    "NVIDIA-H100-80GB-HBM3": "1g.10gb 1g.10gb+me 1g.20gb 2g.20gb 3g.40gb 4g.40gb 7g.80gb",
    "NVIDIA-H100-PCIe": "1g.10gb 1g.10gb+me 1g.20gb 2g.20gb 3g.40gb 4g.40gb 7g.80gb",
    "NVIDIA-H100-NVL": "1g.12gb 1g.12gb+me 1g.24gb 2g.24gb 3g.47gb 4g.47gb 7g.94gb",
    "NVIDIA-H200": "1g.18gb 1g.18gb+me 1g.35gb 2g.35gb 3g.71gb 4g.71gb 7g.141gb",
}


def test_mig_capable_models_are_the_expected_ones() -> None:
    assert {model.product for model in MIG_MODELS} == set(EXPECTED_PROFILES)


@pytest.mark.parametrize("model", MIG_MODELS, ids=ids)
def test_mig_profile_names_follow_nvidia(model: GpuModel) -> None:
    assert [p.name for p in model.mig_profiles] == EXPECTED_PROFILES[model.product].split()


@pytest.mark.parametrize("model", MIG_MODELS, ids=ids)
def test_every_profile_placement_stays_inside_the_gpu(model: GpuModel) -> None:
    for profile in model.mig_profiles:
        assert profile.starts == tuple(sorted(set(profile.starts)))
        for start in profile.starts:
            assert start >= 0 and start + profile.memory_slices <= model.mig_memory_slices
        assert 1 <= profile.compute_slices <= model.mig_compute_slices
        assert profile.name.startswith(f"{profile.compute_slices}g.")
        assert 1 <= profile.max_instances <= len(profile.starts)
        assert 0 < profile.memory_mib <= model.memory_mib
        assert profile.resource_name == f"nvidia.com/mig-{profile.name.replace('+', '.')}"


@pytest.mark.parametrize("model", MIG_MODELS, ids=ids)
def test_media_extension_profiles_mirror_their_plain_profile(model: GpuModel) -> None:
    for profile in model.mig_profiles:
        if profile.media_extensions:
            plain = model.mig_profile(profile.name.removesuffix("+me"))
            assert profile.max_instances == 1
            assert (profile.compute_slices, profile.memory_slices, profile.starts) == (
                plain.compute_slices,
                plain.memory_slices,
                plain.starts,
            )


def test_a100_80gb_geometry_matches_the_mig_user_guide() -> None:
    model = lookup("NVIDIA-A100-SXM4-80GB")
    geometry = {
        p.name: (p.compute_slices, p.memory_slices, p.starts, p.max_instances)
        for p in model.mig_profiles
    }
    assert geometry == {
        "1g.10gb": (1, 1, (0, 1, 2, 3, 4, 5, 6), 7),
        "1g.10gb+me": (1, 1, (0, 1, 2, 3, 4, 5, 6), 1),
        "1g.20gb": (1, 2, (0, 2, 4, 6), 4),
        "2g.20gb": (2, 2, (0, 2, 4), 3),
        "3g.40gb": (3, 4, (0, 4), 2),
        "4g.40gb": (4, 4, (0,), 1),
        "7g.80gb": (7, 8, (0,), 1),
    }
    assert model.mig_profile("1g.10gb").memory_mib == 9728


def test_a30_geometry_matches_the_mig_user_guide() -> None:
    model = lookup("A30")
    assert (model.mig_memory_slices, model.mig_compute_slices) == (4, 4)
    assert model.mig_profile("1g.6gb").starts == (0, 1, 2, 3)
    assert model.mig_profile("2g.12gb").starts == (0, 2)
    assert model.mig_profile("4g.24gb").starts == (0,)


@pytest.mark.parametrize(
    "spelling", ["1g.10gb", "1G.10GB", "mig-1g.10gb", "nvidia.com/mig-1g.10gb"]
)
def test_mig_profile_accepts_resource_spellings(spelling: str) -> None:
    assert lookup("h100").mig_profile(spelling).name == "1g.10gb"


def test_unknown_mig_profile_names_the_model_and_lists_its_profiles() -> None:
    with pytest.raises(InputError) as caught:
        lookup("a100-80gb").mig_profile("1g.5gb")
    error = caught.value
    assert "NVIDIA-A100-SXM4-80GB" in error.message and "'1g.5gb'" in error.message
    assert error.hint is not None and "1g.10gb" in error.hint and "7g.80gb" in error.hint


def test_mig_profile_on_a_model_without_mig() -> None:
    with pytest.raises(InputError, match="not MIG capable"):
        lookup("T4").mig_profile("1g.10gb")


# ------------------------------------------------------------------------ validation

GOOD_MODEL = """\
models:
  - product: TEST-GPU
    memory_mib: 1024
    family: ampere
    compute_capability: [8, 0]
    aliases: [tg]
    max_mps_clients: 48
    timeslicing_supported: true
    mig_capable: true
    mig_memory_slices: 4
    mig_compute_slices: 4
    mig_profiles:
      - name: 1g.1gb
        compute_slices: 1
        memory_slices: 1
        memory_mib: 256
        starts: [0, 1, 2, 3]
        max_instances: 4
        sm: 2
        ce: 1
        dec: 0
        enc: 0
        jpg: 0
        ofa: 0
      - name: 4g.1gb
        compute_slices: 4
        memory_slices: 4
        memory_mib: 1024
        starts: [0]
        max_instances: 1
        sm: 8
        ce: 4
        dec: 1
        enc: 0
        jpg: 1
        ofa: 1
"""


def test_the_packaged_table_parses() -> None:
    text = resources.files("gpuplane.catalog").joinpath("gpus.yaml").read_text(encoding="utf-8")
    assert parse_table(text) == MODELS


def test_a_good_table_parses() -> None:
    (model,) = parse_table(GOOD_MODEL)
    assert model.product == "TEST-GPU" and model.aliases == ("tg",)
    assert model.mig_profile("1g.1gb").starts == (0, 1, 2, 3)


@pytest.mark.parametrize(
    ("old", "new", "field", "words"),
    [
        ("memory_mib: 1024\n    family", "memory_mb: 1024\n    family", "memory_mb", "memory_mib"),
        ("memory_mib: 1024\n    family", "memory_mib: true\n    family", "memory_mib", "expected"),
        ("family: ampere", "family: amprere", "family", "unknown family"),
        ("[8, 0]", "[8]", "compute_capability", "major, minor"),
        ("starts: [0, 1, 2, 3]", "starts: [0, 1, 2, 4]", "profiles[0].starts", "outside"),
        ("starts: [0, 1, 2, 3]", "starts: [1, 0]", "profiles[0].starts", "ascending"),
        ("max_instances: 4", "max_instances: 5", "profiles[0].max_instances", "exceeds"),
        ("compute_slices: 1", "compute_slices: 2", "profiles[0].compute_slices", "match"),
        ("name: 1g.1gb", "name: 1g-1gb", "profiles[0].name", "not like"),
        ("memory_mib: 256", "memory_mib: 4096", "models[0].mig_profiles", "more memory"),
        ("aliases: [tg]", "aliases: [tg, TG]", "models[0]", "used twice"),
        ("aliases: [tg]", "aliases: [tg-SHARED]", "aliases[0]", "suffix"),
        ("aliases: [tg]", "aliases: [t g]", "aliases[0]", "label-safe"),
        ("mig_capable: true", "mig_capable: false", "mig_memory_slices", "only for MIG"),
    ],
)
def test_a_typo_in_the_table_fails_loudly(old: str, new: str, field: str, words: str) -> None:
    assert old in GOOD_MODEL
    with pytest.raises(InputError) as caught:
        parse_table(GOOD_MODEL.replace(old, new, 1), "gpus.yaml")
    error = caught.value
    assert error.where is not None and error.where.file == "gpus.yaml"
    assert field in str(error.where)
    assert words in str(error)


@pytest.mark.parametrize("text", ["[]", "models: {}", "models: [1]", "other: []", "models: [\n"])
def test_a_malformed_table_fails(text: str) -> None:
    with pytest.raises(InputError):
        parse_table(text)


def test_h200_profiles_match_the_read_on_a_real_h200() -> None:
    # NVML GPU instance profile info on an H200 (bench/RESULTS.md, 2026-11-29).
    read = {
        "1g.18gb": (16, 1, 1, 0, 1, 0, 16384, 7),
        "1g.18gb+me": (16, 1, 1, 0, 1, 1, 16384, 1),
        "1g.35gb": (26, 1, 1, 0, 1, 0, 33280, 4),
        "2g.35gb": (32, 2, 2, 0, 2, 0, 33280, 3),
        "3g.71gb": (60, 3, 3, 0, 3, 0, 71424, 2),
        "4g.71gb": (64, 4, 4, 0, 4, 0, 71424, 1),
        "7g.141gb": (132, 8, 7, 0, 7, 1, 143360, 1),
    }
    profiles = lookup("NVIDIA-H200").mig_profiles
    assert {
        p.name: (
            p.multiprocessors,
            p.copy_engines,
            p.decoders,
            p.encoders,
            p.jpeg_engines,
            p.ofa_engines,
            p.memory_mib,
            p.max_instances,
        )
        for p in profiles
    } == read
