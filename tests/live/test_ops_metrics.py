"""gpuplane.live.metrics: kube-scheduler's names, types, labels and buckets, scraped over HTTP."""

import asyncio

import httpx2
import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from gpuplane.live.leader import LeaderMetric
from gpuplane.live.metrics import (
    ATTEMPT_DURATION_BUCKETS,
    POD_ATTEMPTS_BUCKETS,
    SchedulerMetrics,
    exponential_buckets,
)
from gpuplane.live.ops import OpsServer
from gpuplane.placement.fragmentation import FragmentationMeter, shape_of, target_workload

from queueing_helpers import cq, engine, job

# Where each name, type, label set and bucket layout was read (the search tool, corpus code):
# kubernetes/kubernetes pkg/scheduler/metrics/metrics.go
#   @ 1b6390e5207c69913a2cb13a4d8a2268a9391f47 (the scheduler_* metrics), and
# kubernetes/kubernetes staging/src/k8s.io/component-base/metrics/prometheus/clientgo/
#   leaderelection/metrics.go @ 819ecd4dbe6afbaa4f6227d22b9c46938d48e603 (leader election).
# Buckets there are ExponentialBuckets(start, factor, count); None: no buckets (not a histogram).
KUBE_SCHEDULER = {
    # name as exposed:                            (type, labels, (start, factor, count))
    "scheduler_schedule_attempts_total": ("counter", {"result", "profile"}, None),
    "scheduler_scheduling_attempt_duration_seconds": (
        "histogram",
        {"result", "profile"},
        (0.001, 2, 15),
    ),
    "scheduler_pending_pods": ("gauge", {"queue"}, None),
    "scheduler_pod_scheduling_attempts": ("histogram", set(), (1, 2, 5)),
    "leader_election_master_status": ("gauge", {"name"}, None),
}
GPUPLANE = {
    "gpuplane_cluster_gpu_capacity_milli": "gauge",
    "gpuplane_cluster_gpu_allocated_milli": "gauge",
    "gpuplane_cluster_gpu_fragmentation_milli": "gauge",
}


def scrape(url: str) -> tuple[str, dict[str, tuple[str, list[Sample]]]]:
    reply = httpx2.get(url + "/metrics", timeout=5.0)
    assert reply.status_code == 200
    families = {
        family.name: (family.type, family.samples)
        for family in text_string_to_metric_families(reply.text)
    }
    return reply.headers["content-type"], families


def exposed(name: str, kind: str) -> str:
    """The family name the parser gives: counters lose their _total suffix."""
    return name.removesuffix("_total") if kind == "counter" else name


def record(metrics: SchedulerMetrics) -> FragmentationMeter:
    metrics.attempt("scheduled", 0.003)
    metrics.attempt("scheduled", 0.020)
    metrics.attempt("unschedulable", 0.5)
    metrics.attempt("error", 30.0)
    for queue, n in (("active", 3), ("backoff", 2), ("unschedulable", 7), ("gated", 1)):
        metrics.pending(queue, n)
    metrics.pod_scheduled(1)
    metrics.pod_scheduled(3)
    metrics.leader_status("gpuplane-scheduler", True)
    q = engine([cq("team-a", 8)], nodes=1)
    q.submit(job("a", "team-a", gpus_per_pod=3), now=0.0)
    q.cycle(now=0.0)
    template = job("w", "team-a", gpus_per_pod=2)
    meter = FragmentationMeter(target_workload([shape_of(template.pod_sets[0].template)]), q.state)
    metrics.watch_cluster(q.state, meter)
    return meter


def test_bucket_layouts_are_kube_schedulers() -> None:
    assert exponential_buckets(0.001, 2, 15) == ATTEMPT_DURATION_BUCKETS
    assert ATTEMPT_DURATION_BUCKETS[0] == 0.001 and ATTEMPT_DURATION_BUCKETS[-1] == 16.384
    assert POD_ATTEMPTS_BUCKETS == (1, 2, 4, 8, 16)


def test_scrape_has_kube_schedulers_names_types_labels_and_buckets() -> None:
    metrics = SchedulerMetrics(profile="gpuplane")
    meter = record(metrics)

    async def serve() -> tuple[str, dict[str, tuple[str, list[Sample]]]]:
        async with OpsServer(metrics.registry, ready=lambda: None) as ops:
            return await asyncio.to_thread(scrape, ops.url)

    content_type, families = asyncio.run(serve())
    assert content_type == "text/plain; version=0.0.4; charset=utf-8"
    assert families["process_cpu_seconds"][0] == "counter"
    for name, (kind, labels, buckets) in KUBE_SCHEDULER.items():
        family_kind, samples = families[exposed(name, kind)]
        assert family_kind == kind, name
        assert samples, name
        for sample in samples:
            assert set(sample.labels) - {"le"} == labels, (name, sample)
        if buckets is not None:
            start, factor, count = buckets
            bounds = sorted(
                {float(s.labels["le"]) for s in samples if s.name == name + "_bucket"}
            )
            assert bounds == [*(start * factor**i for i in range(count)), float("inf")], name
    for name, kind in GPUPLANE.items():
        assert families[name][0] == kind, name

    every = [sample for _, samples in families.values() for sample in samples]

    def value(metric: str, **labels: str) -> float:
        found = [
            s.value
            for s in every
            if s.name == metric and all(s.labels.get(k) == v for k, v in labels.items())
        ]
        assert len(found) == 1, (metric, labels, found)
        return found[0]

    attempts = "scheduler_schedule_attempts_total"
    assert value(attempts, result="scheduled", profile="gpuplane") == 2
    assert value(attempts, result="unschedulable", profile="gpuplane") == 1
    assert value(attempts, result="error", profile="gpuplane") == 1
    duration = "scheduler_scheduling_attempt_duration_seconds"
    assert value(duration + "_count", result="scheduled") == 2
    assert value(duration + "_bucket", result="scheduled", le="0.004") == 1
    assert value(duration + "_bucket", result="error", le="16.384") == 0
    assert value(duration + "_bucket", result="error", le="+Inf") == 1
    assert value("scheduler_pending_pods", queue="unschedulable") == 7
    assert value("scheduler_pending_pods", queue="gated") == 1
    assert value("scheduler_pod_scheduling_attempts_bucket", le="2.0") == 1
    assert value("scheduler_pod_scheduling_attempts_sum") == 4
    assert value("leader_election_master_status", name="gpuplane-scheduler") == 1
    assert value("gpuplane_cluster_gpu_capacity_milli") == 8000
    assert value("gpuplane_cluster_gpu_allocated_milli") == 3000
    assert value("gpuplane_cluster_gpu_fragmentation_milli") == meter.amount()


def test_pending_queues_are_there_from_the_start_and_gpus_only_with_a_state() -> None:
    metrics = SchedulerMetrics()
    families = {f.name: f for f in text_string_to_metric_families(metrics.exposition().decode())}
    pending = {s.labels["queue"]: s.value for s in families["scheduler_pending_pods"].samples}
    assert pending == {"active": 0, "backoff": 0, "unschedulable": 0, "gated": 0}
    assert "gpuplane_cluster_gpu_capacity_milli" not in families
    assert families["leader_election_master_status"].samples == []


def test_unknown_results_and_queues_are_refused() -> None:
    metrics = SchedulerMetrics()
    with pytest.raises(ValueError, match="result must be one of scheduled, unschedulable, error"):
        metrics.attempt("bound", 0.1)
    with pytest.raises(ValueError, match="queue must be one of"):
        metrics.pending("waiting", 1)


def test_the_elector_drives_leader_election_master_status() -> None:
    metric: LeaderMetric = SchedulerMetrics()
    assert isinstance(metric, SchedulerMetrics)
    metric.leader_status("lease", False)
    text = metric.exposition().decode()
    assert 'leader_election_master_status{name="lease"} 0.0' in text
