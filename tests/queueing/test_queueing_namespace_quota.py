"""Namespace ResourceQuota in admission: pods, GPUs in whole GPUs, CPU and memory, release."""

from __future__ import annotations

from dataclasses import replace

from gpuplane.objects.policy import ResourceQuota
from gpuplane.objects.queues import LocalQueue
from gpuplane.queueing import PodSet, Queueing, Workload
from gpuplane.queueing.refusals import Refusal

from helpers import fraction, pod
from queueing_helpers import admitted, cq, engine, job


def quota(**hard: int) -> ResourceQuota:
    names = {"pods": "pods", "gpu": "requests.nvidia.com/gpu"}
    names |= {"cpu": "requests.cpu", "memory": "requests.memory"}
    return ResourceQuota("rq", "ns", {names[k]: v for k, v in hard.items()})


def refusal(q: Queueing, name: str) -> tuple[Refusal, str]:
    reason = q.reasons[f"ns/{name}"]
    return reason.refusal, str(reason)


def test_pods_are_counted_per_pod_across_workloads():
    q = engine([cq("a", 16)], resource_quotas=(quota(pods=3),))
    q.submit(job("two", "a", pods=2, created=0), 0)
    q.submit(job("two-more", "a", pods=2, created=1), 0)
    q.submit(job("one", "a", pods=1, created=2), 0)
    assert admitted(q.cycle(0)) == ["two", "one"]
    assert refusal(q, "two-more") == (
        Refusal.NAMESPACE_QUOTA,
        "exceeds ResourceQuota of namespace ns: pods 5 > 3",
    )


def test_gpus_are_counted_in_whole_gpus():
    q = engine([cq("a", 16)], resource_quotas=(quota(gpu=3),))
    q.submit(job("two", "a", gpus_per_pod=2, created=0), 0)
    q.submit(job("two-more", "a", gpus_per_pod=2, created=1), 0)
    q.submit(job("one", "a", gpus_per_pod=1, created=2), 0)
    assert admitted(q.cycle(0)) == ["two", "one"]
    assert refusal(q, "two-more") == (
        Refusal.NAMESPACE_QUOTA,
        "exceeds ResourceQuota of namespace ns: requests.nvidia.com/gpu 5 > 3",
    )


def _halves(name: str, pods: int) -> Workload:
    template = pod("t", fraction(500))
    return Workload(f"ns/{name}", "ns", "a", (PodSet("main", template, pods),))


def test_fractions_round_up_to_whole_gpus():
    # Three half GPUs are 1500 milli-GPU: two GPUs as ResourceQuota counts them. (Quota-only
    # admission: the test cluster's GPUs do not take fractions.)
    tight = engine([cq("a", 16)], resource_quotas=(quota(gpu=1),), placement_aware=False)
    tight.submit(_halves("three-halves", 3), 0)
    assert admitted(tight.cycle(0)) == []
    assert refusal(tight, "three-halves")[1].endswith("requests.nvidia.com/gpu 2 > 1")
    enough = engine([cq("a", 16)], resource_quotas=(quota(gpu=2),), placement_aware=False)
    enough.submit(_halves("three-halves", 3), 0)
    assert admitted(enough.cycle(0)) == ["three-halves"]


def test_cpu_and_memory_are_counted_in_millicores_and_mib():
    # Each job pod asks for 1000m CPU and 1024 MiB.
    q = engine([cq("a", 16)], resource_quotas=(quota(cpu=2500),))
    for i in range(3):
        q.submit(job(f"j{i}", "a", created=i), 0)
    assert admitted(q.cycle(0)) == ["j0", "j1"]
    assert refusal(q, "j2")[1].endswith("requests.cpu 3000 > 2500")
    q = engine([cq("a", 16)], resource_quotas=(quota(memory=2500),))
    for i in range(3):
        q.submit(job(f"j{i}", "a", created=i), 0)
    assert admitted(q.cycle(0)) == ["j0", "j1"]
    assert refusal(q, "j2")[1].endswith("requests.memory 3072 > 2500")


def test_finishing_and_evicting_give_the_namespace_usage_back():
    q = engine([cq("a", 16)], resource_quotas=(quota(pods=2, gpu=2, cpu=2000, memory=2048),))
    q.submit(job("first", "a", pods=2), 0)
    q.submit(job("second", "a", pods=2, created=1), 0)
    assert admitted(q.cycle(0)) == ["first"]
    assert q.reasons["ns/second"].refusal is Refusal.NAMESPACE_QUOTA
    q.finish("ns/first", 10)
    assert admitted(q.cycle(10)) == ["second"]
    q.evict("ns/second", 20, "NodeFailure", requeue=False)
    assert q.admitted.ns_usage["ns"] == {"cpu": 0, "memory": 0, "nvidia.com/gpu": 0, "pods": 0}
    assert not q.active and q.pending == 0


def test_another_namespace_is_not_limited():
    q = engine([cq("a", 16)], resource_quotas=(quota(pods=1),))
    lq = LocalQueue("a", "other", "a")
    q.local[(lq.namespace, lq.name)] = lq.cluster_queue
    mine = job("mine", "a", pods=2)
    theirs = replace(job("theirs", "a", pods=2), key="other/theirs", namespace="other")
    q.submit(mine, 0)
    q.submit(theirs, 0)
    assert [a.workload.key for a in q.cycle(0).admitted] == ["other/theirs"]
    assert q.reasons["ns/mine"].refusal is Refusal.NAMESPACE_QUOTA


def test_a_local_queue_naming_no_cluster_queue_is_inactive_not_a_crash() -> None:
    """Kueue leaves such a LocalQueue inactive; submit raised KeyError (a traceback) here."""
    from gpuplane.objects.queues import LocalQueue
    from gpuplane.queueing import Queueing, QueueingConfig

    base = engine([cq("a", 16)])
    dangling = LocalQueue("typo", "ns", "no-such-cluster-queue")
    config = QueueingConfig(
        base.config.cluster_queues,
        (*base.config.local_queues, dangling),
        base.config.flavors,
        base.config.cohorts,
    )
    queueing = Queueing(base.scheduler, config)
    said = "LocalQueue ns/typo does not exist or names no ClusterQueue (inactive)"
    assert queueing.submit(job("w", "typo"), 0) == said
    assert queueing.submit(job("v", "a"), 0) is None


def test_a_cluster_queue_without_namespace_selector_admits_nothing() -> None:
    """Kueue reads a missing spec.namespaceSelector as labels.Nothing(): no namespace matches
    (an empty selector, {}, matches them all). The engine admitted such workloads."""
    from dataclasses import replace

    from gpuplane.queueing import Queueing, QueueingConfig

    base = engine([cq("a", 16)])
    closed = replace(base.config.cluster_queues[0], admits_no_namespace=True)
    config = QueueingConfig(
        (closed,), base.config.local_queues, base.config.flavors, base.config.cohorts
    )
    queueing = Queueing(base.scheduler, config)
    assert queueing.submit(job("w", "a"), 0) == "namespace ns is not allowed in ClusterQueue a"
