"""Preferred allocations and Allocate responses, computed without sockets."""

from __future__ import annotations

from collections import Counter

import pytest

from gpuplane.node.allocate import (
    AllocateOptions,
    AllocationError,
    DeviceListStrategy,
    allocate,
    cdi_annotation_key,
    preferred_allocation,
)
from gpuplane.node.devices import NodePlan, PluginDevice
from node_helpers import FOUR_A100, MIXED, MPS_2, TIME_SLICING_4, mig_inventory, plan


def devices_of(p: NodePlan, resource: str = "nvidia.com/gpu") -> list[PluginDevice]:
    return p.resources()[resource]


def ids(devices: list[PluginDevice]) -> list[str]:
    return [d.id for d in devices]


# ------------------------------------------------------------------ preferred allocation


def test_whole_gpus_stay_on_one_numa_node() -> None:
    devices = devices_of(plan(FOUR_A100))
    gpu = {d.id: d.gpu.index for d in devices}
    # GPU 0 is taken: two GPUs fit on NUMA 1 only.
    available = ids(devices)[1:]
    chosen = preferred_allocation(available, [], 2, devices)
    assert [gpu[i] for i in chosen] == [2, 3]


def test_must_include_pulls_the_request_to_its_numa_node() -> None:
    devices = devices_of(plan(FOUR_A100))
    gpu = {d.id: d.gpu.index for d in devices}
    chosen = preferred_allocation(ids(devices), [devices[2].id], 2, devices)
    assert [gpu[i] for i in chosen] == [2, 3]


def test_a_request_no_numa_node_holds_spans_the_fewest() -> None:
    devices = devices_of(plan(FOUR_A100))
    chosen = preferred_allocation(ids(devices)[1:], [], 3, devices)
    assert sorted(d.gpu.index for d in devices if d.id in chosen) == [1, 2, 3]


def test_replicas_spread_over_physical_gpus() -> None:
    devices = devices_of(plan(FOUR_A100, TIME_SLICING_4))
    gpu = {d.id: d.gpu.index for d in devices}
    chosen = preferred_allocation(ids(devices), [], 2, devices)
    # Two replicas on one NUMA node, on two distinct GPUs.
    assert sorted(gpu[i] for i in chosen) == [0, 1]
    chosen = preferred_allocation(ids(devices), [], 4, devices)
    assert Counter(gpu[i] for i in chosen) == Counter({0: 1, 1: 1, 2: 1, 3: 1})


def test_replicas_go_to_the_least_used_gpu_first() -> None:
    devices = devices_of(plan(FOUR_A100, TIME_SLICING_4))
    gpu = {d.id: d.gpu.index for d in devices}
    # Three replicas of GPU 0 and one of GPU 1 are in use.
    in_use = {d.id for d in devices if d.gpu.index == 0 and d.replica != 3}
    in_use.add(next(d.id for d in devices if d.gpu.index == 1))
    available = [i for i in ids(devices) if i not in in_use]
    # NUMA node 0 fits one replica most tightly; in it, GPU 1 is less used than GPU 0.
    chosen = preferred_allocation(available, [], 1, devices)
    assert gpu[chosen[0]] == 1
    # Two replicas: GPU 1 still has fewer in use (2) than GPU 0 (3) after the first.
    chosen = preferred_allocation([i for i in available if gpu[i] < 2], [], 2, devices)
    assert [gpu[i] for i in chosen] == [1, 1]
    # Five replicas cannot have five GPUs; NUMA node 1 alone holds five replicas.
    chosen = preferred_allocation(available, [], 5, devices)
    assert Counter(gpu[i] for i in chosen) == Counter({2: 3, 3: 2})


def test_mig_devices_pack_onto_the_fullest_gpu() -> None:
    p = plan(mig_inventory("all-1g.10gb"), MIXED)
    devices = devices_of(p, "nvidia.com/mig-1g.10gb")
    # GPU 0 has two free 1g.10gb left, GPU 1 all seven.
    free = [d.id for d in devices if d.gpu.index == 1] + [
        d.id for d in devices if d.gpu.index == 0
    ][:2]
    chosen = preferred_allocation(free, [], 1, devices)
    assert next(d for d in devices if d.id == chosen[0]).gpu.index == 0


def test_preferred_allocation_is_deterministic() -> None:
    devices = devices_of(plan(FOUR_A100, TIME_SLICING_4))
    first = preferred_allocation(ids(devices)[::-1], [], 5, devices)
    assert preferred_allocation(ids(devices)[::-1], [], 5, devices) == first


@pytest.mark.parametrize(
    ("available", "must", "size", "message"),
    [
        (["GPU-unknown"], [], 1, "unknown device"),
        ([], [], 1, "available"),
        (None, [], 0, "positive"),
        (None, None, 1, "below"),
    ],
)
def test_impossible_preferred_requests_are_refused(
    available: list[str] | None, must: list[str] | None, size: int, message: str
) -> None:
    devices = devices_of(plan(FOUR_A100))
    with pytest.raises(AllocationError, match=message):
        preferred_allocation(
            ids(devices) if available is None else available,
            ids(devices)[:2] if must is None else must,
            size,
            devices,
        )


# ------------------------------------------------------------------------- Allocate


def test_envvar_lists_each_gpu_once() -> None:
    p = plan(FOUR_A100, TIME_SLICING_4)
    devices = devices_of(p)
    table = {d.id: d for d in devices}
    two_of_gpu0 = [devices[0].id, devices[1].id]
    given = allocate(two_of_gpu0, table, p.sharing, AllocateOptions(), "r1")
    assert given.envs == {"NVIDIA_VISIBLE_DEVICES": devices[0].gpu.uuid}
    assert given.mounts == () and given.annotations == {} and given.cdi_devices == ()


def test_fail_requests_greater_than_one() -> None:
    config = TIME_SLICING_4.replace(
        "timeSlicing:", "timeSlicing:\n    failRequestsGreaterThanOne: true"
    )
    p = plan(FOUR_A100, config)
    devices = devices_of(p)
    table = {d.id: d for d in devices}
    assert allocate([devices[0].id], table, p.sharing, AllocateOptions(), "r")
    with pytest.raises(AllocationError, match="maximum request size for shared resources is 1"):
        allocate([devices[0].id, devices[4].id], table, p.sharing, AllocateOptions(), "r")


def test_mps_replicas_get_the_mps_directories() -> None:
    p = plan(FOUR_A100, MPS_2)
    devices = devices_of(p)
    given = allocate([devices[0].id], {d.id: d for d in devices}, p.sharing, AllocateOptions(), "r")
    assert given.envs["CUDA_MPS_PIPE_DIRECTORY"] == "/mps/nvidia.com/gpu/pipe"
    assert given.envs["CUDA_MPS_LOG_DIRECTORY"] == "/mps/nvidia.com/gpu/log"
    assert {m.container_path for m in given.mounts} == {
        "/mps/nvidia.com/gpu/pipe",
        "/mps/nvidia.com/gpu/log",
        "/dev/shm",
    }


def test_mig_devices_are_given_by_mig_uuid() -> None:
    p = plan(mig_inventory("all-balanced"), MIXED)
    devices = devices_of(p, "nvidia.com/mig-3g.40gb")
    given = allocate([devices[1].id], {d.id: d for d in devices}, p.sharing, AllocateOptions(), "r")
    mig = devices[1].mig
    assert mig is not None and mig.uuid.startswith("MIG-")
    assert given.envs["NVIDIA_VISIBLE_DEVICES"] == mig.uuid


def test_every_device_list_strategy() -> None:
    p = plan(FOUR_A100)
    devices = devices_of(p)
    table = {d.id: d for d in devices}
    chosen = [devices[0].id, devices[1].id]
    options = AllocateOptions(strategies=tuple(DeviceListStrategy))
    given = allocate(chosen, table, p.sharing, options, "0f3c")
    names = [f"nvidia.com/gpu={i}" for i in chosen]
    assert given.cdi_devices == tuple(names)
    assert given.annotations == {"cdi.k8s.io/gpuplane-device-plugin_0f3c": ",".join(names)}
    # volume-mounts wins the env: the device list travels in the mounts.
    assert given.envs == {"NVIDIA_VISIBLE_DEVICES": "/var/run/nvidia-container-devices"}
    assert [m.container_path for m in given.mounts] == [
        f"/var/run/nvidia-container-devices/{i}" for i in chosen
    ]
    assert all(m.host_path == "/dev/null" for m in given.mounts)
    cdi_only = AllocateOptions(strategies=(DeviceListStrategy.CDI_CRI,))
    assert allocate(chosen, table, p.sharing, cdi_only, "x").envs == {}


def test_allocate_refuses_unknown_and_repeated_devices() -> None:
    p = plan(FOUR_A100)
    devices = devices_of(p)
    table = {d.id: d for d in devices}
    with pytest.raises(AllocationError, match="unknown"):
        allocate(["GPU-x"], table, p.sharing, AllocateOptions(), "r")
    with pytest.raises(AllocationError, match="twice"):
        allocate([devices[0].id] * 2, table, p.sharing, AllocateOptions(), "r")
    with pytest.raises(AllocationError, match="no devices"):
        allocate([], table, p.sharing, AllocateOptions(), "r")


def test_cdi_annotation_keys_follow_the_cdi_rules() -> None:
    assert cdi_annotation_key("gpuplane-device-plugin", "a/b") == (
        "cdi.k8s.io/gpuplane-device-plugin_a_b"
    )
    with pytest.raises(AllocationError):
        cdi_annotation_key("gpuplane-device-plugin", "x" * 60)
