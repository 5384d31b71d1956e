"""End to end through the fake API: 200 GPU pods on a mixed cluster, scheduler to kubelet.

Whole GPUs, MIG devices (mixed strategy, three profiles), time-sliced replicas and fractions,
requested in a seeded random order, are bound by the real LiveScheduler exactly where the twin
(`placement.Scheduler.place` in the same order on the same Nodes) puts them; then each node's
agent answers its kubelet's GetPreferredAllocation and Allocate for every pod with exactly the
scheduler's devices, and marks every pod allocated.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from e2e_helpers import (
    A100,
    FRACTIONAL,
    H100,
    L4,
    MIXED_MIG,
    TIME_SLICED_4,
    GpuNode,
    admin_client,
    eventually,
    labelled,
    node_agents,
    serve_every_pod,
)
from fakeapi import FakeApiServer
from live_helpers import create, run
from scheduler_helpers import NODES, PODS, gpu_pod, running, settle, twin_state

from gpuplane.objects import read_api_objects
from gpuplane.objects.assignment import (
    ALLOCATED,
    ALLOCATED_ANNOTATION,
    DEVICES_ANNOTATION,
    decode_assignment,
)
from gpuplane.placement import Placement, Scheduler

SEED = 20261129
GPU = "nvidia.com/gpu"
# Two nodes of each kind, eight GPUs each. The device plugin shares every non-MIG GPU of a node
# alike, so a time-sliced node is time-sliced throughout.
CLUSTER = [
    *(GpuNode(f"whole-{i}", f"[{{model: {H100}, count: 8}}]") for i in range(2)),
    *(GpuNode(f"mig-{i}", f"[{{model: {A100}, count: 8, mig: all-balanced}}]", MIXED_MIG)
      for i in range(2)),
    *(GpuNode(f"sliced-{i}", f"[{{model: {L4}, count: 8}}]", TIME_SLICED_4) for i in range(2)),
    *(GpuNode(f"frac-{i}", f"[{{model: {L4}, count: 8}}]", None, FRACTIONAL) for i in range(2)),
]
WHOLE = {"nvidia.com/gpu.product": H100}
SLICED = {"nvidia.com/gpu.sharing-strategy": "time-slicing"}


def workload(rng: random.Random) -> list[dict[str, Any]]:
    """200 pods: 10 whole-GPU (1 or 2), 56 MIG (1g, 2g, 3g), 60 replicas, 74 fractions; seeded
    sizes and order, within what the cluster holds (the twin must place every one)."""
    limits: list[tuple[dict[str, str], dict[str, str]]] = []
    limits += [({GPU: str(n)}, WHOLE) for n in [1] * 6 + [2] * 4]
    for profile, count in (("1g.10gb", 28), ("2g.20gb", 14), ("3g.40gb", 14)):
        limits += [({f"nvidia.com/mig-{profile}": "1"}, {})] * count
    limits += [({GPU: "1"}, SLICED)] * 60
    for _ in range(74):
        fraction = {GPU: "1", "nvidia.com/gpumem": str(rng.choice([2048, 3072, 4096]))}
        if rng.random() < 0.5:
            fraction["nvidia.com/gpucores"] = str(rng.choice([10, 20, 25]))
        limits.append((fraction, {}))
    rng.shuffle(limits)
    pods = []
    for i, (amounts, selector) in enumerate(limits):
        # Names in creation order: the scheduler's queue orders pods created in one second by
        # its list, which the API server sorts by name.
        pod = gpu_pod(f"e2e-{i:03d}", amounts, nodeSelector=selector)
        pod["metadata"]["namespace"] = "default"
        pods.append(pod)
    return pods


def twin_placements(fake: FakeApiServer, pods: list[dict[str, Any]]) -> dict[str, Placement]:
    twin = Scheduler(twin_state(fake), "most-allocated")
    placed: dict[str, Placement] = {}
    for obj in pods:
        (pod,) = read_api_objects([obj]).pods
        decision = twin.place(pod)
        assert isinstance(decision, Placement), decision
        placed[obj["metadata"]["name"]] = decision
    return placed


def bind_everything(fake: FakeApiServer, count: int) -> list[str]:
    async def scenario() -> list[str]:
        async with running(fake) as live:
            await settle(lambda: len(live.bound) >= count, timeout=40)
            live.cache.state.check_invariants()
            return list(live.bound)

    return run(scenario(), timeout=60)


def test_200_pods_land_where_the_twin_says_and_the_kubelet_gets_exactly_those_devices(
    fake: FakeApiServer, tmp_path: Path
) -> None:
    pods = workload(random.Random(SEED))
    names = [p["metadata"]["name"] for p in pods]
    with admin_client(fake) as http:
        for node in CLUSTER:
            create(http, NODES, node.node_object())
    with node_agents(CLUSTER, fake.write_kubeconfig(tmp_path / "kubeconfig")) as agents:
        eventually(labelled(fake, CLUSTER))  # the agents wrote their GFD labels
        expected = twin_placements(fake, pods)
        assert {p.node for p in expected.values()} == {n.name for n in CLUSTER}
        with admin_client(fake) as http:
            for obj in pods:
                create(http, PODS, obj)

        bound = bind_everything(fake, len(pods))
        assert sorted(bound) == sorted(f"default/{n}" for n in names)  # each once

        objects = {name: obj for (_, name), obj in fake.objects("pods").items()}
        for name, want in expected.items():
            obj = objects[name]
            got = decode_assignment(obj["metadata"]["annotations"][DEVICES_ANNOTATION])
            assert obj["spec"]["nodeName"] == want.node == got.node, name
            assert (got.gpus, got.gpu_milli, got.gpu_memory_mib, got.devices) == (
                want.gpus,
                want.gpu_milli,
                want.gpu_memory_mib,
                want.devices,
            ), name
            assert ALLOCATED_ANNOTATION not in obj["metadata"]["annotations"], name

        serve_every_pod(agents, list(objects.values()))

        marks = {
            name: obj["metadata"]["annotations"].get(ALLOCATED_ANNOTATION)
            for (_, name), obj in fake.objects("pods").items()
        }
        assert marks == dict.fromkeys(names, ALLOCATED)
