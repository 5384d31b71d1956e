"""Control-plane metrics from the brain, under Kueue's metric names where Kueue has one.

`ControlPlaneMetrics` reads a `Queueing` engine (and, when given, FGD's fragmentation meter)
at every scrape and counts the decisions it is shown (`observe(result)` after each cycle).
Whoever runs the brain (the twin today, the scheduler and the admission check when `live`
runs it) registers it and serves `registry`. Kueue's metrics keep Kueue's labels and units:
quota and usage in the resource's own unit (cores, bytes, GPUs), waits in seconds with
Kueue's histogram buckets. gpuplane's own cover what Kueue does not see: GPU capacity,
allocation and FGD's fragmentation, in milli-GPU like the brain counts them.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Iterator, Mapping

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from gpuplane.cluster import ClusterState
from gpuplane.placement.fragmentation import FragmentationMeter
from gpuplane.queueing import CycleResult, Queueing

# Kueue (Go's client) exports no `_created` series; Python's client would add one per counter
# and histogram, stamped with the wall clock, which also made the twin's output differ per run.
disable_created_metrics()  # type: ignore[no-untyped-call]

#: Kueue's wait-time buckets: 1 s, then 2.5 s doubling, 14 in all.
WAIT_BUCKETS = (1.0, *(2.5 * 2**i for i in range(13)))
_MIB = 1024 * 1024


def kueue_amount(resource: str, amount: int) -> float:
    """A brain amount in the unit Kueue reports: cores, bytes, whole GPUs, counts."""
    if resource == "cpu":
        return amount / 1000
    if resource == "memory":
        return float(amount * _MIB)
    if resource == "nvidia.com/gpu":
        return amount / 1000
    return float(amount)


class ControlPlaneMetrics(Collector):
    """Kueue-named queue metrics and gpuplane's cluster GPU metrics for one engine."""

    def __init__(
        self, queueing: Queueing, fragmentation: FragmentationMeter | None = None
    ) -> None:
        self._queueing = queueing
        self._fragmentation = fragmentation
        self.registry = CollectorRegistry()
        self._admitted = Counter(
            "kueue_admitted_workloads",
            "The total number of admitted workloads per 'cluster_queue'.",
            ["cluster_queue"],
            registry=self.registry,
        )
        self._evicted = Counter(
            "kueue_evicted_workloads",
            "The number of evicted workloads per 'cluster_queue' and 'reason'.",
            ["cluster_queue", "reason"],
            registry=self.registry,
        )
        self._wait = Histogram(
            "kueue_admission_wait_time_seconds",
            "Time from a workload's creation (or requeue) to its admission, per 'cluster_queue'.",
            ["cluster_queue"],
            buckets=WAIT_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(self)

    def observe(self, result: CycleResult) -> None:
        """Count one cycle's admissions (with their wait) and evictions."""
        for admission in result.admitted:
            self._admitted.labels(admission.queue).inc()
            wait = max(0.0, admission.at - admission.workload.created)
            self._wait.labels(admission.queue).observe(wait)
        for eviction in result.evicted:
            self._evicted.labels(eviction.queue, eviction.reason).inc()

    def collect(self) -> Iterator[Metric]:
        yield from self._queue_metrics()
        yield from cluster_gpu_metrics(self._queueing.state, self._fragmentation)

    def _queue_metrics(self) -> Iterator[Metric]:
        q = self._queueing
        pending = GaugeMetricFamily(
            "kueue_pending_workloads",
            "Pending workloads per 'cluster_queue' and 'status' (active: not yet tried, or woken "
            "by a change; inadmissible: tried and refused, waiting for one).",
            labels=["cluster_queue", "status"],
        )
        active = GaugeMetricFamily(
            "kueue_admitted_active_workloads",
            "Admitted workloads that are still running, per 'cluster_queue'.",
            labels=["cluster_queue"],
        )
        running = Tally(entry.queue for entry in q.active.values())
        # As in Kueue, a workload that was tried and refused is inadmissible until it is tried
        # again; the engine keeps the reason of each such pending workload.
        refused = Tally(
            q.queue_of(q.pending_queues.get(key)) for key in q.reasons if key in q.pending_queues
        )
        for name in sorted(q.queues):
            pending.add_metric([name, "active"], q.pending_in(name) - refused[name])
            pending.add_metric([name, "inadmissible"], refused[name])
            active.add_metric([name], running[name])
        yield pending
        yield active
        labels = ["cohort", "cluster_queue", "flavor", "resource"]
        usage = GaugeMetricFamily(
            "kueue_cluster_queue_resource_usage",
            "The ClusterQueue's usage per flavor and resource.",
            labels=labels,
        )
        nominal = GaugeMetricFamily(
            "kueue_cluster_queue_nominal_quota",
            "The ClusterQueue's nominal quota per flavor and resource.",
            labels=labels,
        )
        borrowing = GaugeMetricFamily(
            "kueue_cluster_queue_borrowing_limit",
            "The ClusterQueue's borrowing limit per flavor and resource.",
            labels=labels,
        )
        for name in sorted(q.queues):
            node = q.tree.nodes[name]
            cohort = node.parent.name if node.parent is not None else ""
            _add(usage, cohort, name, q.usage(name))
            _add(nominal, cohort, name, node.nominal)
            limits = {fr: v for fr, v in node.borrowing_limit.items() if v is not None}
            _add(borrowing, cohort, name, limits)
        yield from (usage, nominal, borrowing)


def cluster_gpu_metrics(
    state: ClusterState, fragmentation: FragmentationMeter | None = None
) -> Iterator[Metric]:
    """gpuplane's cluster GPU gauges, read now: capacity, allocation and FGD's fragmentation.

    Shared by every collector that holds a ClusterState (this engine's, the live scheduler's).
    """
    yield _gauge(
        "gpuplane_cluster_gpu_capacity_milli",
        "The cluster's GPUs, in milli-GPU (1000 per GPU).",
        1000 * state.total_gpus,
    )
    yield _gauge(
        "gpuplane_cluster_gpu_allocated_milli",
        "GPU allocated to pods, in milli-GPU.",
        state.allocated_gpu_milli(),
    )
    if fragmentation is not None:
        yield _gauge(
            "gpuplane_cluster_gpu_fragmentation_milli",
            "FGD's fragmentation F(M): free GPU the expected task shapes could not use, in "
            "milli-GPU.",
            fragmentation.amount(),
        )


def _add(
    family: GaugeMetricFamily,
    cohort: str,
    queue: str,
    amounts: Mapping[tuple[str, str], int],
) -> None:
    for (flavor, resource), amount in sorted(amounts.items()):
        family.add_metric([cohort, queue, flavor, resource], kueue_amount(resource, amount))


def _gauge(name: str, help_text: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, help_text, value=value)

