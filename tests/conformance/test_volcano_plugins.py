"""Volcano's proportion, capacity and gang behaviour, and the reclaim action, ported.

Upstream: volcano-sh/volcano at commit ed72c7c815a9fd547a787134676f73d42e9d049c:
pkg/scheduler/plugins/proportion/proportion_test.go and proportion.go (deserved by weight,
capped by capability), pkg/scheduler/plugins/capacity/capacity_test.go (a queue admits up
to its capability), pkg/scheduler/plugins/gang/gang_test.go (a job starts once minMember
tasks can run), pkg/scheduler/util.go (the default configuration's actions: no reclaim).
"""

from __future__ import annotations

import pytest

from gpuplane.catalog.resources import GPU
from gpuplane.cluster import ClusterState
from gpuplane.objects.queues import PodGroup, VolcanoQueue, VolcanoSchedulerConfig
from gpuplane.objects.reader import read_text
from gpuplane.placement import Scheduler
from gpuplane.queueing import Queueing, Workload, volcano_config
from gpuplane.queueing.manifests import pod_group_workload
from gpuplane.queueing.proportion import deserved_shares

from helpers import gpu_node, pod, whole

G = 1000  # one GPU in milli-GPU

SHARES = [
    ("weights 1:1 split the cluster evenly",
     [VolcanoQueue("q1", 1), VolcanoQueue("q2", 1)], 8 * G, {"q1": 4 * G, "q2": 4 * G}),
    ("weights 3:1",
     [VolcanoQueue("q1", 3), VolcanoQueue("q2", 1)], 8 * G, {"q1": 6 * G, "q2": 2 * G}),
    ("capability caps the deserved share, the rest goes to the others",
     [VolcanoQueue("q1", 1, capability={GPU: 2 * G}), VolcanoQueue("q2", 1)], 8 * G,
     {"q1": 2 * G, "q2": 6 * G}),
    ("stated deserved kept, the remainder by weight",
     [VolcanoQueue("q1", 1, deserved={GPU: 5 * G}), VolcanoQueue("q2", 1), VolcanoQueue("q3", 2)],
     9 * G, {"q1": 5 * G, "q2": G + G // 3, "q3": 2 * G + 2 * G // 3}),
    ("guarantee is a floor of deserved",
     [VolcanoQueue("q1", 1, capability={GPU: G}, guarantee={GPU: G}), VolcanoQueue("q2", 3)],
     4 * G, {"q1": G, "q2": 3 * G}),
]


@pytest.mark.parametrize(("name", "queues", "total", "want"), SHARES, ids=[s[0] for s in SHARES])
def test_proportion_deserved(name: str, queues: list[VolcanoQueue], total: int,
                             want: dict[str, int]) -> None:
    shares = deserved_shares(queues, [GPU], {GPU: total})
    assert {q: s[GPU] for q, s in shares.items()} == want


def _engine(queues: list[VolcanoQueue], gpus: int = 8,
            scheduler: VolcanoSchedulerConfig | None = None) -> Queueing:
    state = ClusterState([gpu_node("n0", gpus)])
    template = pod("t", whole(1), cpu_milli=1000, memory_mib=1024)
    return Queueing(Scheduler(state), volcano_config(queues, [template], ["ns"], scheduler))


def _group(name: str, queue: str, pods: int, min_member: int, gpus: int = 1) -> Workload:
    members = [
        pod(f"{name}-{i}", whole(gpus), cpu_milli=1000, memory_mib=1024) for i in range(pods)
    ]
    return pod_group_workload(PodGroup(name, "ns", min_member, queue=queue), members, 0, 0.0)


def test_capability_only_queue_admits_up_to_its_capability() -> None:
    e = _engine([VolcanoQueue("capped", 1, capability={GPU: 3 * G})])
    for i in range(4):
        e.submit(_group(f"j{i}", "capped", 1, 1), 0.0)
    assert len(e.cycle(0.0).admitted) == 3


def test_queue_without_deserved_gets_its_weight_share() -> None:
    e = _engine([VolcanoQueue("a", 3), VolcanoQueue("b", 1)])
    node = e.tree.nodes["a"]
    assert node.nominal[("volcano-default", GPU)] == 6 * G
    assert e.tree.nodes["b"].nominal[("volcano-default", GPU)] == 2 * G


# Quota is not what binds these two: gpuplane holds an elastic gang's quota for all its pods.
ROOMY = VolcanoQueue("q", 1, deserved={GPU: 100 * G})


def test_gang_starts_when_min_member_fits_and_the_rest_join() -> None:
    e = _engine([ROOMY], gpus=4)
    e.submit(_group("blocker", "q", 1, 1, gpus=2), 0.0)
    e.cycle(0.0)
    e.submit(_group("elastic", "q", 4, 2), 1.0)
    (admission,) = e.cycle(1.0).admitted
    assert len(admission.placements) == 2
    e.finish("ns/blocker", 2.0)
    late = e.cycle(2.0).placed_late
    assert [len(a.placements) for a in late] == [4]


def test_gang_waits_while_fewer_than_min_member_fit() -> None:
    e = _engine([ROOMY], gpus=4)
    e.submit(_group("blocker", "q", 1, 1, gpus=3), 0.0)
    e.cycle(0.0)
    e.submit(_group("gang", "q", 4, 2), 1.0)
    assert e.cycle(1.0).admitted == []


def _reclaim_scenario(scheduler: VolcanoSchedulerConfig | None) -> list[str]:
    e = _engine([VolcanoQueue("a", 1), VolcanoQueue("b", 1)], scheduler=scheduler)
    for i in range(8):
        e.submit(_group(f"a{i}", "a", 1, 1), 0.0)
    e.cycle(0.0)
    e.submit(_group("b0", "b", 1, 1), 1.0)
    return [ev.workload.key for ev in e.cycle(1.0).evicted]


def test_default_configuration_has_no_reclaim() -> None:
    assert _reclaim_scenario(None) == []


def test_reclaim_action_takes_back_the_deserved_share() -> None:
    assert len(_reclaim_scenario(VolcanoSchedulerConfig(("enqueue", "allocate", "reclaim")))) == 1


def test_scheduler_configmap_is_read() -> None:
    text = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: volcano-scheduler-configmap}\n"
        "data:\n  volcano-scheduler.conf: |\n    actions: \"enqueue, allocate, reclaim\"\n"
    )
    (conf,) = read_text(text).volcano_scheduler
    assert conf.reclaims


# -- capacity_test.go (Test_capacityPlugin_OnSessionOpenWithoutHierarchy), with actions
# allocate and reclaim; nodes of 2 cpu and 4Gi.

RECLAIM = VolcanoSchedulerConfig(("allocate", "reclaim"))


def _cpu_engine(queues: list[VolcanoQueue], nodes: int = 2) -> Queueing:
    from helpers import cpu_node

    state = ClusterState([cpu_node(f"n{i + 1}", cpu_milli=2000, memory_mib=4096)
                          for i in range(nodes)])
    template = pod("t", cpu_milli=1000, memory_mib=1024)
    return Queueing(Scheduler(state), volcano_config(queues, [template], ["ns1"], RECLAIM))


def _cpu_group(name: str, queue: str, pods: int, cpu: int, mem_gi: int) -> Workload:
    members = [pod(f"{name}-p{i}", cpu_milli=cpu * 1000, memory_mib=mem_gi * 1024)
               for i in range(pods)]
    return pod_group_workload(PodGroup(name, "ns1", 1, queue=queue), members, 0, 0.0)


def test_case0_pod_allocatable_when_queue_has_not_exceed_capability() -> None:
    e = _cpu_engine([VolcanoQueue("q1", 1, capability={"cpu": 2000, "memory": 2048})])
    e.submit(_cpu_group("pg1", "q1", 1, 1, 1), 0.0)
    e.cycle(0.0)
    e.submit(_cpu_group("pg2", "q1", 1, 1, 1), 1.0)
    assert len(e.cycle(1.0).admitted) == 1


def test_case1_pod_not_allocatable_when_queue_exceed_queue_capability() -> None:
    e = _cpu_engine([VolcanoQueue("q2", 1, capability={"cpu": 1500, "memory": 1536})])
    e.submit(_cpu_group("pg3", "q2", 1, 1, 1), 0.0)
    e.cycle(0.0)
    e.submit(_cpu_group("pg4", "q2", 1, 1, 1), 1.0)
    assert e.cycle(1.0).admitted == []


def test_case2_can_reclaim_from_other_queues_when_allocated_below_deserved() -> None:
    # Intentional divergence: Volcano evicts one task of pg5 (p6; p5 is marked
    # non-preemptable); gpuplane preempts whole workloads, so all of pg5 goes.
    e = _cpu_engine([VolcanoQueue("q3", 1, deserved={"cpu": 2000, "memory": 4096}),
                     VolcanoQueue("q4", 1, deserved={"cpu": 2000, "memory": 4096})])
    e.submit(_cpu_group("pg5", "q3", 2, 2, 4), 0.0)
    assert len(e.cycle(0.0).admitted) == 1
    e.submit(_cpu_group("pg6", "q4", 1, 2, 4), 1.0)
    result = e.cycle(1.0)
    assert [ev.workload.key for ev in result.evicted] == ["ns1/pg5"]
    assert [a.workload.key for a in result.admitted] == ["ns1/pg6"]


# -- proportion_test.go (TestEnqueueAndAllocatable): n1, n2 of 2 cpu and 2G; q1 weight 1
# capability 2 cpu/2G, q2 weight 1 capability 3 cpu/3G; pod1 (1 cpu, 2G, q1) runs on n1 and
# pod2 (2 cpu, 1G, q2) on n2. Written in Gi: gpuplane counts memory quota in MiB, rounding
# capabilities down and requests up, so 2G of requests would not fit 2G of capability.

GI = 1024


def _proportion_engine() -> Queueing:
    from helpers import cpu_node

    state = ClusterState([cpu_node(n, cpu_milli=2000, memory_mib=2 * GI) for n in ("n1", "n2")])
    queues = [VolcanoQueue("q1", 1, capability={"cpu": 2000, "memory": 2 * GI}),
              VolcanoQueue("q2", 1, capability={"cpu": 3000, "memory": 3 * GI})]
    template = pod("t", cpu_milli=1000, memory_mib=GI)
    e = Queueing(Scheduler(state), volcano_config(queues, [template], ["ns1"]))
    for name, queue, cpu, mem, node in (("pg1", "q1", 1000, 2 * GI, "n1"),
                                        ("pg2", "q2", 2000, GI, "n2")):
        member = pod(f"{name}-pod", cpu_milli=cpu, memory_mib=mem, node_name=node)
        e.submit(pod_group_workload(PodGroup(name, "ns1", 1, queue=queue), [member], 0, 0.0), 0.0)
    assert len(e.cycle(0.0).admitted) == 2
    return e


PROPORTION = [
    ("case0: memory exceed derserved, job only request cpu can be enqueued and allocated",
     "q1", 1000, 0, ["n1"]),
    ("case1: cpu exceed derserved, job only request memory can be enqueued and allocated",
     "q2", 0, GI, ["n2"]),
    ("case2: exceed capacity, can not enqueue", "q1", 1000, GI, []),
    ("case3: exceed deserved, can not allocate", "q1", 1000, GI, []),
]


@pytest.mark.parametrize(("name", "queue", "cpu", "memory", "want"), PROPORTION,
                         ids=[p[0] for p in PROPORTION])
def test_enqueue_and_allocatable(name: str, queue: str, cpu: int, memory: int,
                                 want: list[str]) -> None:
    e = _proportion_engine()
    member = pod("new", cpu_milli=cpu, memory_mib=memory)
    e.submit(pod_group_workload(PodGroup("new", "ns1", 1, queue=queue), [member], 0, 1.0), 1.0)
    placed = [p.node for a in e.cycle(1.0).admitted for p in a.placements]
    assert placed == want
