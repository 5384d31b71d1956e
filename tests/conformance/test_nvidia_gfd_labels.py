"""GPU Feature Discovery's labeler tables, against gpuplane's `gfd_labels`.

Ported from NVIDIA/k8s-device-plugin at commit 1b826acc6af3079d8923bac395c3124b8861a9a6:
internal/lm/resource_test.go (TestGPUResourceLabeler, TestSanitise) and
internal/lm/nvml_test.go (TestGPUModeLabeler). Upstream's mock GPU is "MOCKMODEL", 300 MiB,
compute capability 8.0; the harness builds that model. Only the labels the tested labeler
writes are compared.
"""

from __future__ import annotations

import pytest

from gpuplane.catalog import GpuModel
from gpuplane.errors import ManifestError
from gpuplane.sharing import (
    DevicePluginConfig,
    ReplicatedResource,
    SharingConfig,
    gfd_labels,
    gpu_mode,
    sanitise,
    sharing_from_device_plugin_config,
)

MOCK = GpuModel(
    product="MOCKMODEL",
    memory_mib=300,
    family="ampere",
    compute_capability=(8, 0),
    mig_capable=False,
    mig_memory_slices=0,
    mig_compute_slices=0,
    mig_profiles=(),
    aliases=(),
    max_mps_clients=48,
    timeslicing_supported=True,
)
BASE = {
    "nvidia.com/gpu.count": "1",
    "nvidia.com/gpu.memory": "300",
    "nvidia.com/gpu.family": "ampere",
    "nvidia.com/gpu.compute.major": "8",
    "nvidia.com/gpu.compute.minor": "0",
}
KEYS = {
    *BASE,
    "nvidia.com/gpu.replicas",
    "nvidia.com/gpu.sharing-strategy",
    "nvidia.com/gpu.product",
}


def labels(replicas: str, strategy: str, product: str) -> dict[str, str]:
    return {
        **BASE,
        "nvidia.com/gpu.replicas": replicas,
        "nvidia.com/gpu.sharing-strategy": strategy,
        "nvidia.com/gpu.product": product,
    }


def config(
    kind: str | None, name: str = "nvidia.com/gpu", rename: str | None = None
) -> DevicePluginConfig:
    if kind is None:
        return DevicePluginConfig("c")
    shared = SharingConfig(resources=(ReplicatedResource(name, 2, rename=rename),))
    return DevicePluginConfig(
        "c", time_slicing=shared if kind == "ts" else None, mps=shared if kind == "mps" else None
    )


SHARED_TS = labels("2", "time-slicing", "MOCKMODEL-SHARED")
SHARED_MPS = labels("2", "mps", "MOCKMODEL-SHARED")
# (upstream description, config, expected labels; None where gpuplane refuses the config)
RESOURCE_LABELER = [
    ("no sharing", config(None), labels("1", "none", "MOCKMODEL")),
    # Intentional divergence: GFD skips an entry no device has; gpuplane refuses it, so that a
    # typo in a resource name does not leave GPUs silently unshared.
    ("time-slicing ignores non-matching resource", config("ts", "nvidia.com/not-gpu"), None),
    ("time-slicing appends suffix and doubles count", config("ts"), SHARED_TS),
    # Intentional divergence: the labeler is tested with a `rename` set by hand; the plugin's
    # loader clears it (DisableResourceNamingInConfig), so a real node shows -SHARED.
    (
        "time-slicing renamed does not append suffix and doubles count",
        config("ts", rename="nvidia.com/gpu.shared"),
        SHARED_TS,
    ),
    ("mps ignores non-matching resource", config("mps", "nvidia.com/not-gpu"), None),
    ("mps appends suffix and doubles count", config("mps"), SHARED_MPS),
    (
        "mps renamed does not append suffix and doubles count",
        config("mps", rename="nvidia.com/gpu.shared"),
        SHARED_MPS,
    ),
]


@pytest.mark.parametrize(
    ("plugin_config", "expected"),
    [c[1:] for c in RESOURCE_LABELER],
    ids=[c[0] for c in RESOURCE_LABELER],
)
def test_gpu_resource_labeler(
    plugin_config: DevicePluginConfig, expected: dict[str, str] | None
) -> None:
    if expected is None:
        with pytest.raises(ManifestError):
            sharing_from_device_plugin_config(plugin_config, 1, MOCK)
        return
    sharing = sharing_from_device_plugin_config(plugin_config, 1, MOCK)
    written = gfd_labels(MOCK, 1, sharing)
    assert {k: v for k, v in written.items() if k in KEYS} == expected


SANITISE = [
    ("a space separated string", "a-space-separated-string"),
    ("some(thing)else", "somethingelse"),
    ("some ( thing )else", "some-thing-else"),
    ("NVIDIA-TITAN-X-(Pascal)", "NVIDIA-TITAN-X-Pascal"),
    (" input  with multiple   spaces   ", "input-with-multiple-spaces"),
    ("some [ / thing / ]else", "some-thing-else"),
    ("some / thing /else", "some-thing-else"),
    ("some-thing.else_new", "some-thing.else_new"),
]


@pytest.mark.parametrize(("text", "expected"), SANITISE, ids=[c[0] for c in SANITISE])
def test_sanitise(text: str, expected: str) -> None:
    assert sanitise(text) == expected


GPU_MODE = [
    ("single device with compute PCI class", [0x030000], "graphics"),
    ("single device with graphics PCI class", [0x030200], "compute"),
    ("single device with switch PCI class", [0x068000], "unknown"),
    ("multiple device have same graphics PCI class", [0x030200] * 3, "compute"),
    ("multiple device have same compute PCI class", [0x030000] * 3, "graphics"),
    (
        "multiple device with some with graphics and others with compute PCI class",
        [0x030000, 0x030200, 0x030000],
        "unknown",
    ),
]


@pytest.mark.parametrize(
    ("classes", "expected"), [c[1:] for c in GPU_MODE], ids=[c[0] for c in GPU_MODE]
)
def test_gpu_mode_labeler(classes: list[int], expected: str) -> None:
    assert gpu_mode(classes) == expected
