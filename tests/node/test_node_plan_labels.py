"""What a node advertises under each sharing mode, and the GFD labels it writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from gpuplane.catalog import lookup
from gpuplane.errors import InputError
from gpuplane.node import FakeBackend, load_config, node_labels, parse_config
from gpuplane.node.backend import BackendError
from gpuplane.node.devices import plan_node
from gpuplane.node.labels import feature_file, version_labels
from gpuplane.sharing import (
    GpuSharing,
    NodeSharing,
    SharingKind,
    advertised,
    gfd_labels,
    node_devices,
    sharing_from_labels,
)
from node_helpers import (
    A100,
    FOUR_A100,
    MIXED,
    MPS_2,
    RENAMED_2,
    SINGLE,
    TIME_SLICING_4,
    mig_inventory,
    plan,
)


def test_exclusive_gpus_are_advertised_by_uuid() -> None:
    p = plan(FOUR_A100)
    assert p.advertised() == {"nvidia.com/gpu": 4}
    ids = [d.id for d in p.devices]
    assert ids == [g.uuid for g in p.inventory.gpus]
    assert all(i.startswith("GPU-") for i in ids)
    assert [d.numa_node for d in p.devices] == [0, 0, 1, 1]


def test_fake_uuids_are_stable_and_distinct() -> None:
    first = FakeBackend(text=FOUR_A100).inventory()
    again = FakeBackend(text=FOUR_A100).inventory()
    other = FakeBackend(text=FOUR_A100.replace("node: n1", "node: n2")).inventory()
    assert [g.uuid for g in first.gpus] == [g.uuid for g in again.gpus]
    assert len({g.uuid for g in first.gpus} | {g.uuid for g in other.gpus}) == 8


def test_time_slicing_replicas_are_uuid_and_index() -> None:
    p = plan(FOUR_A100, TIME_SLICING_4)
    assert p.advertised() == {"nvidia.com/gpu": 16}
    gpu0 = p.inventory.gpus[0].uuid
    assert [d.id for d in p.devices[:4]] == [f"{gpu0}::{k}" for k in range(4)]


def test_fractional_gpus_are_advertised_as_their_split_devices() -> None:
    """As HAMi does: each fractional GPU is split_count kubelet devices, all of which serve the
    scheduler's one device for that GPU (a whole-GPU pod takes any one of them)."""
    fractional = GpuSharing(SharingKind.FRACTIONAL, split_count=3)
    inventory = FakeBackend(text=FOUR_A100).inventory()
    p = plan_node(inventory, None, fractional)
    assert p.advertised() == {"nvidia.com/gpu": 12}
    gpu1 = p.inventory.gpus[1].uuid
    assert [d.id for d in p.devices[3:6]] == [f"{gpu1}::{k}" for k in range(3)]
    assert {d.device.scheduler_id for d in p.devices[3:6]} == {"gpu1"}
    assert node_labels(p)["gpuplane.io/device-split-count"] == "3"
    # The scheduler's devices are the GPUs themselves, cut by kubelet_devices alone.
    brain = node_devices(p.sharing, 4, p.model, p.model.memory_mib)
    assert [d.id for d in brain] == ["gpu0", "gpu1", "gpu2", "gpu3"]


def test_fractional_labels_on_gpus_the_config_already_shares_are_refused() -> None:
    inventory = FakeBackend(text=FOUR_A100).inventory()
    with pytest.raises(InputError, match=r"already shared \(time-slicing\)"):
        plan_node(inventory, parse_config(TIME_SLICING_4), GpuSharing(SharingKind.FRACTIONAL))


def test_renamed_replicas_get_their_own_resource() -> None:
    p = plan(FOUR_A100, RENAMED_2)
    assert p.advertised() == {"nvidia.com/gpu.shared": 8}


def test_rename_and_devices_are_ignored_as_the_device_plugin_does() -> None:
    inventory = FakeBackend(text=FOUR_A100).inventory()
    uuid = inventory.gpus[2].uuid
    config = (
        "version: v1\nsharing:\n  timeSlicing:\n    resources:\n"
        f"      - {{name: nvidia.com/gpu, replicas: 3, rename: gpu.shared, devices: [{uuid}]}}\n"
    )
    p = plan(FOUR_A100, config)
    assert p.advertised() == {"nvidia.com/gpu": 12}


def test_a_malformed_uuid_in_devices_is_an_input_error() -> None:
    config = (
        "version: v1\nsharing:\n  timeSlicing:\n    resources:\n"
        "      - {name: nvidia.com/gpu, replicas: 2, devices: [GPU-nope]}\n"
    )
    with pytest.raises(InputError, match="unsupported device"):
        plan(FOUR_A100, config)


def test_mig_mixed_advertises_one_resource_per_profile() -> None:
    p = plan(mig_inventory("all-balanced"), MIXED)
    assert p.advertised() == {
        "nvidia.com/mig-1g.10gb": 4,
        "nvidia.com/mig-2g.20gb": 2,
        "nvidia.com/mig-3g.40gb": 2,
    }
    mig_ids = {m.uuid for g in p.inventory.gpus for m in g.mig_devices}
    assert {d.id for d in p.devices} == mig_ids


def test_mig_single_advertises_mig_devices_as_gpus() -> None:
    p = plan(mig_inventory("all-1g.10gb"), SINGLE)
    assert p.advertised() == {"nvidia.com/gpu": 14}
    assert all(d.id.startswith("MIG-") for d in p.devices)


def test_mig_single_with_two_profiles_is_refused() -> None:
    with pytest.raises(BackendError, match="one profile"):
        plan(mig_inventory("all-balanced"), SINGLE)


def test_mig_strategy_none_advertises_no_mig_devices() -> None:
    text = mig_inventory("all-1g.10gb", 1) + f"  - {{model: {A100}, numaNode: 1}}\n"
    assert plan(text).advertised() == {"nvidia.com/gpu": 1}


def test_mps_on_mig_gpus_is_refused() -> None:
    text = mig_inventory("all-1g.10gb", 1) + f"  - {{model: {A100}, numaNode: 1}}\n"
    with pytest.raises(BackendError, match="MPS"):
        plan(text, MPS_2.replace("version: v1", "version: v1\nflags: {migStrategy: mixed}"))


def test_devices_are_exactly_what_the_scheduler_computes() -> None:
    """The node advertises what the brain believes it can place, for every mode."""
    cases = [
        (FOUR_A100, None),
        (FOUR_A100, TIME_SLICING_4),
        (FOUR_A100, RENAMED_2),
        (FOUR_A100, MPS_2),
        (mig_inventory("all-balanced"), MIXED),
        (mig_inventory("all-1g.10gb"), SINGLE),
    ]
    model = lookup(A100)
    for inventory, config in cases:
        p = plan(inventory, config)
        count = len(p.inventory.gpus)
        # The scheduler reads the node's sharing back from the labels the agent wrote.
        sharing = sharing_from_labels(node_labels(p), count, model=model) or NodeSharing()
        expected = node_devices(sharing, count, model, model.memory_mib)
        assert p.advertised() == advertised(expected), (inventory, config)


def test_labels_match_gfd_for_time_slicing() -> None:
    p = plan(FOUR_A100, TIME_SLICING_4)
    labels = node_labels(p)
    assert labels["nvidia.com/gpu.product"] == "NVIDIA-A100-SXM4-80GB-SHARED"
    assert labels["nvidia.com/gpu.replicas"] == "4"
    assert labels["nvidia.com/gpu.sharing-strategy"] == "time-slicing"
    assert labels["nvidia.com/gpu.count"] == "4"
    assert labels["nvidia.com/gpu.memory"] == "81920"
    assert labels["nvidia.com/gpu.family"] == "ampere"
    assert labels["nvidia.com/gpu.compute.major"] == "8"
    assert labels["nvidia.com/mig.capable"] == "true"
    assert labels == {**labels, **gfd_labels(p.model, 4, p.sharing)}


def test_labels_for_mixed_mig() -> None:
    labels = node_labels(plan(mig_inventory("all-balanced"), MIXED))
    assert labels["nvidia.com/mig.strategy"] == "mixed"
    assert labels["nvidia.com/mig-1g.10gb.count"] == "4"
    assert labels["nvidia.com/mig-3g.40gb.product"] == "NVIDIA-A100-SXM4-80GB-MIG-3g.40gb"
    assert labels["nvidia.com/mig-2g.20gb.slices.gi"] == "2"


def test_version_labels() -> None:
    inventory = FakeBackend(
        text='driverVersion: "535.129.03"\ncudaVersion: "12.2"\ngpus: [{model: NVIDIA-L4}]'
    ).inventory()
    labels = version_labels(inventory)
    assert labels["nvidia.com/cuda.driver-version.major"] == "535"
    assert labels["nvidia.com/cuda.driver-version.minor"] == "129"
    assert labels["nvidia.com/cuda.driver-version.revision"] == "03"
    assert labels["nvidia.com/cuda.driver-version.full"] == "535.129.03"
    assert labels["nvidia.com/cuda.runtime-version.full"] == "12.2"
    assert labels["nvidia.com/cuda.runtime.major"] == "12"
    assert labels["nvidia.com/cuda.driver.rev"] == "03"


def test_feature_file_format() -> None:
    text = feature_file({"b": "2", "a": "1"})
    assert text.splitlines() == ["# GPU labels written by the gpuplane node agent", "a=1", "b=2"]


def test_config_errors_name_the_file_and_field(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("version: v1\nflags:\n  migStrategy: sometimes\n")
    with pytest.raises(InputError) as caught:
        load_config(path)
    assert str(caught.value).startswith(f"{path}:3: flags.migStrategy: unsupported")


def test_config_replicas_below_two_for_mps_is_refused() -> None:
    with pytest.raises(InputError, match="replicas"):
        parse_config(MPS_2.replace("replicas: 2", "replicas: 1"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("gpus: [{model: NVIDIA-Nope}]", "unknown GPU model"),
        ("gpus: []", "at least one GPU"),
        ("gpus: [{model: Tesla-T4, mig: all-1g.5gb}]", "not MIG-capable"),
        (f"gpus: [{{model: {A100}, mig: [7g.80gb, 1g.10gb]}}]", "does not fit"),
        ("gpus: [{model: NVIDIA-L4}]\nfaults: [{gpu: 3, xid: 79}]", "GPU index"),
        ("gpus: [{model: NVIDIA-L4, colour: red}]", "unknown field"),
    ],
)
def test_bad_inventories_are_input_errors(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        FakeBackend(text=text)
