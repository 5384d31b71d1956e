"""Volcano queues and PodGroups through the admission engine."""

from __future__ import annotations

from gpuplane.catalog.resources import GPU
from gpuplane.cluster import ClusterState
from gpuplane.objects.queues import VOLCANO_GROUP_ANNOTATION, PodGroup, VolcanoQueue
from gpuplane.placement import Scheduler
from gpuplane.queueing import Queueing
from gpuplane.queueing.manifests import pod_group_workload, volcano_config

from helpers import gpu_node, pod, whole


def member(name: str, group: str, gpus: int = 1):
    p = pod(name, whole(gpus), namespace="ml")
    return type(p)(**{**p.__dict__, "annotations": {VOLCANO_GROUP_ANNOTATION: group}})


def test_deserved_capability_and_weight_become_quota():
    queues = [
        VolcanoQueue("research", weight=3, deserved={GPU: 4000}, capability={GPU: 8000}),
        VolcanoQueue("prod", weight=1, deserved={GPU: 4000}),
    ]
    cfg = volcano_config(queues, [member("p", "g")], ["ml"])
    research = cfg.cluster_queues[0].resource_groups[0].flavors[0].resources[GPU]
    assert (research.nominal, research.borrowing_limit) == (4000, 4000)
    assert cfg.cluster_queues[0].fair_weight == 3.0 and cfg.fair_sharing


def test_pod_group_is_admitted_whole_or_not_at_all():
    queues = [VolcanoQueue("research", deserved={GPU: 16000})]
    pods = [member(f"w{i}", "train", gpus=4) for i in range(3)]
    groups = [PodGroup("train", "ml", min_member=3, queue="research")]
    workload = pod_group_workload(groups[0], pods, 0, 0.0)
    assert workload.pod_count == 3
    state = ClusterState([gpu_node("n0", 8)])  # room for 2 of the 3 members only
    q = Queueing(Scheduler(state), volcano_config(queues, pods, ["ml"]))
    q.submit(workload, 0)
    assert q.cycle(0).admitted == [] and not state.bindings
    state2 = ClusterState([gpu_node("n0", 8), gpu_node("n1", 8)])
    q2 = Queueing(Scheduler(state2), volcano_config(queues, pods, ["ml"]))
    q2.submit(workload, 0)
    assert len(q2.cycle(0).admitted) == 1 and len(state2.bindings) == 3
