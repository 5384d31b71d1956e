"""Control-plane metrics from the queueing engine, under Kueue's names, labels and units."""

from __future__ import annotations

from prometheus_client import generate_latest

from gpuplane.objects.queues import Cohort
from gpuplane.placement.fragmentation import FragmentationMeter, shape_of, target_workload
from gpuplane.telemetry.control_plane import WAIT_BUCKETS, ControlPlaneMetrics

from queueing_helpers import cq, engine, job
from telemetry_helpers import one, parse, select


def scrape(metrics: ControlPlaneMetrics) -> tuple[dict[str, str], list]:  # type: ignore[type-arg]
    return parse(generate_latest(metrics.registry).decode())


def test_queue_metrics_follow_the_engine() -> None:
    # No borrowing, so that team-a's third job waits for its own quota.
    queues = [cq("team-a", 4, "all", borrowing=0), cq("team-b", 4, "all", borrowing=0)]
    q = engine(queues, nodes=1, cohorts=(Cohort("all"),))
    metrics = ControlPlaneMetrics(q)
    for i in range(3):
        q.submit(job(f"a{i}", "team-a", gpus_per_pod=2, created=0.0), now=0.0)
    q.submit(job("b0", "team-b", gpus_per_pod=1, created=5.0), now=5.0)
    metrics.observe(q.cycle(now=30.0))

    types, samples = scrape(metrics)
    assert types["kueue_pending_workloads"] == "gauge"
    assert types["kueue_admitted_workloads_total"] == "counter"
    assert types["kueue_admission_wait_time_seconds"] == "histogram"
    # team-a's third workload was tried and refused (no quota left): inadmissible, as in Kueue.
    team_a = {"cluster_queue": "team-a"}
    assert one(samples, "kueue_pending_workloads", **team_a, status="inadmissible").value == 1
    assert one(samples, "kueue_pending_workloads", **team_a, status="active").value == 0
    team_b = {"cluster_queue": "team-b"}
    for status in ("active", "inadmissible"):
        assert one(samples, "kueue_pending_workloads", **team_b, status=status).value == 0
    # A workload not tried yet is active.
    q.submit(job("b1", "team-b", gpus_per_pod=1, created=40.0), now=40.0)
    _, later = scrape(metrics)
    assert one(later, "kueue_pending_workloads", cluster_queue="team-b", status="active").value == 1
    assert one(samples, "kueue_admitted_active_workloads", cluster_queue="team-a").value == 2
    assert one(samples, "kueue_admitted_workloads_total", cluster_queue="team-a").value == 2
    assert one(samples, "kueue_admitted_workloads_total", cluster_queue="team-b").value == 1
    # Quota and usage in whole GPUs (Kueue's unit), cores and bytes, with cohort and flavor.
    gpu = {"cluster_queue": "team-a", "resource": "nvidia.com/gpu"}
    usage = one(samples, "kueue_cluster_queue_resource_usage", **gpu)
    assert (usage.value, usage.labels["cohort"], usage.labels["flavor"]) == (4, "all", "default")
    assert one(samples, "kueue_cluster_queue_nominal_quota", **gpu).value == 4
    cpu = one(samples, "kueue_cluster_queue_resource_usage", cluster_queue="team-a", resource="cpu")
    assert cpu.value == 2  # two 1000m pods
    memory = one(
        samples, "kueue_cluster_queue_resource_usage", cluster_queue="team-a", resource="memory"
    )
    assert memory.value == 2 * 1024**3
    # The admission waits, 30 s and 25 s, in Kueue's buckets.
    count = one(samples, "kueue_admission_wait_time_seconds_count", cluster_queue="team-a")
    total = one(samples, "kueue_admission_wait_time_seconds_sum", cluster_queue="team-a")
    assert (count.value, total.value) == (2, 60)
    buckets = select(samples, "kueue_admission_wait_time_seconds_bucket", cluster_queue="team-b")
    assert [float(b.labels["le"]) for b in buckets[:-1]] == list(WAIT_BUCKETS)
    assert one(
        samples, "kueue_admission_wait_time_seconds_bucket", cluster_queue="team-b", le="40.0"
    ).value == 1
    # The cluster: one node of 8 GPUs, 5 allocated.
    assert one(samples, "gpuplane_cluster_gpu_capacity_milli").value == 8000
    assert one(samples, "gpuplane_cluster_gpu_allocated_milli").value == 5000
    assert not select(samples, "gpuplane_cluster_gpu_fragmentation_milli")


def test_evictions_and_fragmentation() -> None:
    q = engine([cq("team-a", 8)], nodes=1)
    template = job("w", "team-a", gpus_per_pod=2)
    meter = FragmentationMeter(
        target_workload([shape_of(template.pod_sets[0].template)]), q.state
    )
    metrics = ControlPlaneMetrics(q, meter)
    q.submit(job("a", "team-a", gpus_per_pod=1), now=0.0)
    metrics.observe(q.cycle(now=0.0))
    result = q.cycle(now=1.0)
    eviction = q.evict("ns/a", now=2.0, reason="Preempted")
    result.evicted.append(eviction)
    metrics.observe(result)
    _, samples = scrape(metrics)
    assert one(
        samples, "kueue_evicted_workloads_total", cluster_queue="team-a", reason="Preempted"
    ).value == 1
    assert one(samples, "gpuplane_cluster_gpu_fragmentation_milli").value == meter.amount()
