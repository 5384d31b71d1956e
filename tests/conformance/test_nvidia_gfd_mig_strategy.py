"""GFD's labels per MIG strategy, and its mig.capable and mps.capable labelers.

Ported from NVIDIA/k8s-device-plugin at commit 1b826acc6af3079d8923bac395c3124b8861a9a6:
internal/lm/mig-strategy_test.go (TestMigStrategyNoneLabels, TestMigStrategySingleLabels) and
internal/lm/nvml_test.go (TestMigCapabilityLabeler, TestSharingLabeler). Upstream's mock GPU is
"MOCKMODEL" with 300 MiB; a full mock GPU reports compute capability 8.0, a MIG-enabled one 0,
so the harness's model has 8.0 when a full GPU is present and 0 (no architecture labels)
otherwise. A mock MIG device NewMigDevice(gi, ci, gb) is profile "<gi>g.<gb>gb" with gb MiB.
Cases with no devices at all are not ported: gpuplane labels GPU nodes only.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from gpuplane.catalog import GpuModel, MigProfile
from gpuplane.errors import InputError
from gpuplane.sharing import (
    DevicePluginConfig,
    MigStrategy,
    ReplicatedResource,
    SharingConfig,
    gfd_labels,
    sharing_from_device_plugin_config,
    with_mig_gpus,
)

FULL, EMPTY_MIG = "full", ()


def mig(gi: int, gb: int, **engines: int) -> tuple[str, MigProfile]:
    name = f"{gi}g.{gb}gb"
    profile = MigProfile(name, gi, 1, gb, tuple(range(8)), 7, **engines)
    return name, profile


def model(devices: list[object], profiles: list[MigProfile]) -> GpuModel:
    full = FULL in devices
    return GpuModel(
        product="MOCKMODEL",
        memory_mib=300,
        family="ampere",
        compute_capability=(8, 0) if full else (0, 0),
        mig_capable=bool(profiles) or any(d != FULL for d in devices),
        mig_memory_slices=8,
        mig_compute_slices=7,
        mig_profiles=tuple(profiles),
        aliases=(),
        max_mps_clients=48,
        timeslicing_supported=True,
    )


def labels_of(
    devices: list[object], strategy: str, time_slicing: bool = False, mps: bool = False
) -> dict[str, str]:
    """GFD's labels for `devices`: FULL, or a tuple of (name, profile) MIG devices."""
    profiles = {p.name: p for d in devices if d != FULL for _, p in d}  # type: ignore[union-attr]
    gpu_model = model(devices, list(profiles.values()))
    shared = SharingConfig(resources=(ReplicatedResource("nvidia.com/gpu", 2),))
    config = DevicePluginConfig(
        "c",
        mig_strategy=strategy,
        time_slicing=shared if time_slicing else None,
        mps=shared if mps else None,
    )
    base = sharing_from_device_plugin_config(config, len(devices), gpu_model)
    layouts = {
        i: tuple((name, 0) for name, _ in d)  # type: ignore[union-attr]
        for i, d in enumerate(devices)
        if d != FULL
    }
    sharing = base
    if layouts:
        # The strategy's own checks are GFD's to report as labels, not errors: skip them.
        sharing = with_mig_gpus(replace(base, mig_strategy=MigStrategy.NONE), layouts, len(devices))
        sharing = replace(sharing, mig_strategy=MigStrategy(strategy))
    return gfd_labels(gpu_model, len(devices), sharing)


def resource_labels(labels: dict[str, str]) -> dict[str, str]:
    other = {"nvidia.com/gpu.present", "nvidia.com/gpu.machine", "nvidia.com/gpu.mode"}
    return {
        k: v
        for k, v in labels.items()
        if (k.startswith("nvidia.com/gpu.") and k not in other) or k == "nvidia.com/mig.strategy"
    }


ARCH = {
    "nvidia.com/gpu.compute.major": "8",
    "nvidia.com/gpu.compute.minor": "0",
    "nvidia.com/gpu.family": "ampere",
}


def gpu(
    count: int, replicas: str, strategy: str, product: str, memory: str = "300"
) -> dict[str, str]:
    return {
        "nvidia.com/gpu.count": str(count),
        "nvidia.com/gpu.replicas": replicas,
        "nvidia.com/gpu.sharing-strategy": strategy,
        "nvidia.com/gpu.memory": memory,
        "nvidia.com/gpu.product": product,
    }


NONE = [
    (
        "single non-mig device returns non-mig (none) labels",
        [FULL],
        False,
        {**ARCH, **gpu(1, "1", "none", "MOCKMODEL")},
    ),
    (
        "sharing is applied to single device",
        [FULL],
        True,
        {**ARCH, **gpu(1, "2", "time-slicing", "MOCKMODEL-SHARED")},
    ),
    (
        "sharing is applied to multiple devices",
        [FULL, FULL],
        True,
        {**ARCH, **gpu(2, "2", "time-slicing", "MOCKMODEL-SHARED")},
    ),
    (
        "sharing is not applied to single MIG device; replicas is zero",
        [EMPTY_MIG],
        True,
        gpu(1, "0", "none", "MOCKMODEL"),
    ),
    (
        "sharing is not applied to multiple MIG device; replicas is zero",
        [EMPTY_MIG, EMPTY_MIG],
        True,
        gpu(2, "0", "none", "MOCKMODEL"),
    ),
    (
        "sharing is applied to MIG device and non-MIG device",
        [EMPTY_MIG, FULL],
        True,
        {**ARCH, **gpu(2, "2", "time-slicing", "MOCKMODEL-SHARED")},
    ),
]


@pytest.mark.parametrize(
    ("devices", "ts", "expected"), [c[1:] for c in NONE], ids=[c[0] for c in NONE]
)
def test_mig_strategy_none_labels(
    devices: list[object], ts: bool, expected: dict[str, str]
) -> None:
    assert resource_labels(labels_of(devices, "none", time_slicing=ts)) == expected


def mig_labels(count: int, profile: str, memory: int, ci: int, **values: int) -> dict[str, str]:
    attributes = {
        "multiprocessors": 0,
        "engines.copy": 0,
        "engines.decoder": 0,
        "engines.encoder": 0,
        "engines.jpeg": 0,
        "engines.ofa": 0,
        **{k.replace("_", "."): v for k, v in values.items()},
    }
    return {
        **gpu(count, "1", "none", f"MOCKMODEL-MIG-{profile}", str(memory)),
        "nvidia.com/mig.strategy": "single",
        "nvidia.com/gpu.slices.gi": "1",
        "nvidia.com/gpu.slices.ci": str(ci),
        **{f"nvidia.com/gpu.{k}": str(v) for k, v in attributes.items()},
    }


INVALID = {
    **gpu(0, "0", "", "MOCKMODEL-MIG-INVALID", "0"),
    "nvidia.com/mig.strategy": "single",
}
ONE = (mig(1, 100),)
CUSTOM = (
    mig(
        1,
        100,
        multiprocessors=12,
        copy_engines=13,
        decoders=14,
        encoders=15,
        jpeg_engines=16,
        ofa_engines=17,
    ),
)
# Intentional divergence: upstream's mock MIG device has 2 compute-instance slices in a
# 1-slice GPU instance, which hardware cannot have; gpuplane makes one compute instance span
# its GPU instance (as mig-parted does), so slices.ci equals slices.gi: "1" below, not "2".
SINGLE = [
    (
        "single non-mig device returns non-mig (none) labels",
        [FULL],
        {**ARCH, **gpu(1, "1", "none", "MOCKMODEL"), "nvidia.com/mig.strategy": "single"},
    ),
    (
        "multiple non-mig device returns non-mig (none) labels",
        [FULL, FULL],
        {**ARCH, **gpu(2, "1", "none", "MOCKMODEL"), "nvidia.com/mig.strategy": "single"},
    ),
    ("single mig-enabled device returns mig labels", [ONE], mig_labels(1, "1g.100gb", 100, 1)),
    (
        "multiple mig-enabled devices returns mig labels",
        [CUSTOM, CUSTOM],
        mig_labels(
            2,
            "1g.100gb",
            100,
            1,
            multiprocessors=12,
            engines_copy=13,
            engines_decoder=14,
            engines_encoder=15,
            engines_jpeg=16,
            engines_ofa=17,
        ),
    ),
    ("empty mig devices returns MIG invalid label", [EMPTY_MIG], INVALID),
    ("mixed mig config returns MIG invalid label", [(mig(1, 100), mig(3, 100))], INVALID),
    ("mixed mig enabled and disabled returns invalid config", [ONE, FULL], {**ARCH, **INVALID}),
    (
        "enabled, disabled, and empty returns invalid config",
        [ONE, FULL, EMPTY_MIG],
        {**ARCH, **INVALID},
    ),
]


@pytest.mark.parametrize(
    ("devices", "expected"), [c[1:] for c in SINGLE], ids=[c[0] for c in SINGLE]
)
def test_mig_strategy_single_labels(devices: list[object], expected: dict[str, str]) -> None:
    assert resource_labels(labels_of(devices, "single")) == expected


MIG_CAPABLE = [
    ("single non-mig capable device returns mig.capable as false", [FULL], "false"),
    ("multiple non-mig capable devices returns mig.capable as false", [FULL, FULL], "false"),
    ("single mig capable device returns mig.capable as true", [EMPTY_MIG], "true"),
    (
        "one mig capable device among multiple returns mig.capable as true",
        [FULL, EMPTY_MIG],
        "true",
    ),
]


@pytest.mark.parametrize(
    ("devices", "expected"), [c[1:] for c in MIG_CAPABLE], ids=[c[0] for c in MIG_CAPABLE]
)
def test_mig_capability_labeler(devices: list[object], expected: str) -> None:
    assert labels_of(devices, "none")["nvidia.com/mig.capable"] == expected


def test_sharing_labeler_config_with_mps_replicas_no_mig_devices() -> None:
    assert labels_of([FULL], "none", mps=True)["nvidia.com/mps.capable"] == "true"


def test_sharing_labeler_config_with_timeslicing_replicas() -> None:
    assert labels_of([FULL], "none", time_slicing=True)["nvidia.com/mps.capable"] == "false"


def test_sharing_labeler_empty_config() -> None:
    assert labels_of([FULL], "none")["nvidia.com/mps.capable"] == "false"


def test_sharing_labeler_config_with_mps_replicas_mig_devices() -> None:
    # GFD fails with errMPSSharingNotSupported; gpuplane refuses the node the same way.
    with pytest.raises(InputError, match="MPS"):
        labels_of([ONE], "none", mps=True)


def test_mig_resource_labeler_no_sharing() -> None:
    """resource_test.go TestMigResourceLabeler "no sharing": NewMigDevice(1, 2, 300), single."""
    # slices.ci "1", not upstream's "2": the intentional divergence noted above SINGLE.
    expected = {**mig_labels(1, "1g.300gb", 300, 1)}
    del expected["nvidia.com/mig.strategy"]
    written = resource_labels(labels_of([(mig(1, 300),)], "single"))
    del written["nvidia.com/mig.strategy"]
    assert written == expected
