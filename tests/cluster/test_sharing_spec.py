"""The cluster spec's sharing section: what it accepts, what the hardware or plugin forbids."""

from __future__ import annotations

import pytest

from gpuplane.catalog.resources import GPU_SHARED
from gpuplane.cluster.spec import parse_cluster_spec
from gpuplane.errors import ClusterSpecError
from gpuplane.sharing import MigStrategy, SharingKind


def spec(model: str, sharing: dict | None = None, gpu_sharing: list | None = None, count: int = 8):
    pool: dict = {
        "name": "p",
        "count": 1,
        "cpu": "64",
        "memory": "256Gi",
        "gpu": {"model": model, "count": count},
    }
    if sharing is not None:
        pool["sharing"] = sharing
    if gpu_sharing is not None:
        pool["gpuSharing"] = gpu_sharing
    return {"nodePools": [pool]}


def node(body):
    return parse_cluster_spec(body, "c.yaml").nodes()[0]


def test_time_slicing_renamed_with_labels():
    n = node(spec("Tesla-T4", {"mode": "time-slicing", "replicas": 4, "renameByDefault": True}))
    assert n.sharing.default.kind is SharingKind.TIME_SLICING
    assert n.sharing.default.resource == GPU_SHARED
    assert n.labels["nvidia.com/gpu.replicas"] == "4"
    assert n.labels["nvidia.com/gpu.sharing-strategy"] == "time-slicing"
    assert n.labels["nvidia.com/gpu.product"] == "Tesla-T4"  # renamed: no -SHARED suffix


def test_time_slicing_not_renamed_gets_shared_suffix():
    n = node(spec("Tesla-T4", {"mode": "time-slicing", "replicas": 2}))
    assert n.labels["nvidia.com/gpu.product"] == "Tesla-T4-SHARED"
    assert not n.sharing.default.fail_requests_greater_than_one


def test_mps_defaults_to_refusing_multi_replica_requests():
    n = node(spec("NVIDIA-L40S", {"mode": "mps", "replicas": 4}))
    assert n.sharing.default.fail_requests_greater_than_one


def test_mig_mixed_with_whole_gpus_beside():
    n = node(
        spec(
            "NVIDIA-A100-SXM4-80GB",
            {"mode": "mig", "migLayout": "all-balanced"},
            [{"gpus": [6, 7], "mode": "exclusive"}],
        )
    )
    assert n.sharing.mig_strategy is MigStrategy.MIXED
    assert n.sharing.default.mig_layout == ("1g.10gb", "1g.10gb", "2g.20gb", "3g.40gb")
    assert n.sharing.for_gpu(7).kind is SharingKind.EXCLUSIVE


def test_fractional_gpus_take_a_split_count():
    n = node(spec("NVIDIA-L4", {"mode": "fractional", "deviceSplitCount": 4}, count=2))
    assert (n.sharing.default.kind, n.sharing.default.split_count) == (SharingKind.FRACTIONAL, 4)
    assert n.labels["gpuplane.io/device-split-count"] == "4"
    assert node(spec("NVIDIA-L4", {"mode": "fractional"})).sharing.default.split_count == 10


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (spec("NVIDIA-L4", {"mode": "exclusive", "deviceSplitCount": 4}), "deviceSplitCount"),
        (spec("NVIDIA-L4", {"mode": "fractional", "deviceSplitCount": 0}), "deviceSplitCount"),
        (spec("NVIDIA-L4", {"mode": "mig", "migLayout": "all-1g.10gb"}), "not MIG-capable"),
        (
            spec("NVIDIA-A100-SXM4-80GB", {"mode": "mig", "migLayout": ["4g.40gb", "4g.40gb"]}),
            "does not fit one NVIDIA-A100-SXM4-80GB",
        ),
        (spec("NVIDIA-A100-SXM4-80GB", {"mode": "mig", "migLayout": ["5g.50gb"]}), "5g.50gb"),
        (spec("NVIDIA-L40S", {"mode": "mps", "replicas": 1}), "at least 2 replicas"),
        (spec("NVIDIA-L40S", {"mode": "mps", "replicas": 64}), "at most 48 MPS clients"),
        (spec("Tesla-T4", {"mode": "time-slicing"}), "needs replicas"),
        (spec("Tesla-T4", {"mode": "exclusive", "replicas": 2}), "replicas applies to"),
        (spec("Tesla-T4", {"mode": "vgpu"}), "vgpuType"),
        (spec("Tesla-T4", {"mode": "teleport"}), "sharing.mode"),
        (
            spec(
                "NVIDIA-A100-SXM4-80GB",
                {"mode": "mig", "migStrategy": "single", "migLayout": "all-1g.10gb"},
                [{"gpus": [0], "mode": "exclusive"}],
            ),
            "migStrategy single",
        ),
        (
            spec("Tesla-T4", {"mode": "exclusive"}, [{"gpus": [9], "mode": "exclusive"}], count=4),
            "GPU index 9",
        ),
    ],
)
def test_refused_with_the_field_and_the_reason(body, message):
    with pytest.raises(ClusterSpecError) as err:
        parse_cluster_spec(body, "c.yaml")
    assert message in str(err.value)
    assert "nodePools[0]" in str(err.value)


@pytest.mark.parametrize(
    ("layout", "expected"),
    [
        ("all-enabled", ()),
        ("all-1g.10gb.me", ("1g.10gb+me",)),
        ({"1g.10gb": 2, "3g.40gb": 1}, ("1g.10gb", "1g.10gb", "3g.40gb")),
    ],
)
def test_mig_parted_names_and_mig_devices_are_layouts(layout, expected):
    n = node(spec("NVIDIA-A100-SXM4-80GB", {"mode": "mig", "migLayout": layout}))
    assert n.sharing.default.mig_layout == expected


def test_a_me_profile_is_advertised_and_labelled_with_a_dot():
    n = node(spec("NVIDIA-A100-SXM4-80GB", {"mode": "mig", "migLayout": "all-1g.10gb.me"}))
    assert n.labels["nvidia.com/mig-1g.10gb.me.count"] == "8"
    assert n.labels["nvidia.com/mig-1g.10gb.me.engines.ofa"] == "1"
    assert not any("+" in key for key in n.labels)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (spec("Tesla-T4", {"mode": "time-slicing", "replicas": 1}), "at least 2 replicas"),
        (
            spec("Tesla-T4", {"mode": "time-slicing", "replicas": 2, "rename": "nvidia.com/x"}),
            "ignores rename",
        ),
        (
            spec("NVIDIA-A100-SXM4-80GB", {"mode": "mig", "migLayout": {"1g.10gb": 0}}),
            "must be positive",
        ),
    ],
)
def test_what_the_device_plugin_would_not_serve_is_refused(body, message):
    with pytest.raises(ClusterSpecError) as err:
        parse_cluster_spec(body, "c.yaml")
    assert message in str(err.value)
