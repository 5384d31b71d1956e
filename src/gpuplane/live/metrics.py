"""The scheduler's Prometheus metrics, under kube-scheduler's and client-go's names.

Names, types, labels and buckets are kube-scheduler's (pkg/scheduler/metrics/metrics.go) and
client-go's leader_election_master_status, so dashboards and alerts written for kube-scheduler
read gpuplane unchanged; `profile` is the scheduler name pods ask for (kube-scheduler labels a
profile by its schedulerName). gpuplane's own GPU gauges (capacity, allocation, FGD's
fragmentation) come from `gpuplane.telemetry.control_plane`, read at every scrape from the
ClusterState the scheduler holds. Everything lives in a private registry, served by `ops`.

kube-scheduler's preemption metrics are left out: the live scheduler does not preempt.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from gpuplane.cluster import ClusterState
from gpuplane.placement.fragmentation import FragmentationMeter
from gpuplane.telemetry.control_plane import cluster_gpu_metrics

RESULTS = ("scheduled", "unschedulable", "error")
QUEUES = ("active", "backoff", "unschedulable", "gated")


def exponential_buckets(start: float, factor: float, count: int) -> tuple[float, ...]:
    """component-base's ExponentialBuckets: `count` upper bounds from `start`, times `factor`."""
    return tuple(start * factor**i for i in range(count))


#: scheduling_attempt_duration_seconds: 1 ms doubling, 15 buckets (last finite ~16 s).
ATTEMPT_DURATION_BUCKETS = exponential_buckets(0.001, 2, 15)
#: pod_scheduling_attempts: 1, 2, 4, 8, 16.
POD_ATTEMPTS_BUCKETS = exponential_buckets(1, 2, 5)


class SchedulerMetrics:
    """What the scheduling loop and the elector report; `registry` is what /metrics serves."""

    def __init__(self, profile: str = "gpuplane") -> None:
        self.profile = profile
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)  # process_* as every Kubernetes component has
        self._attempts = Counter(
            "scheduler_schedule_attempts_total",
            "Number of attempts to schedule pods, by the result. 'unschedulable' means a pod "
            "could not be scheduled, while 'error' means an internal scheduler problem.",
            ["result", "profile"],
            registry=self.registry,
        )
        self._attempt_duration = Histogram(
            "scheduler_scheduling_attempt_duration_seconds",
            "Scheduling attempt latency in seconds (scheduling algorithm + binding)",
            ["result", "profile"],
            buckets=ATTEMPT_DURATION_BUCKETS,
            registry=self.registry,
        )
        self._pending = Gauge(
            "scheduler_pending_pods",
            "Number of pending pods, by the queue type. 'active' means number of pods in "
            "activeQ; 'backoff' means number of pods in backoffQ; 'unschedulable' means number "
            "of pods in unschedulablePods that the scheduler attempted to schedule and failed; "
            "'gated' is the number of unschedulable pods that the scheduler never attempted to "
            "schedule because they are gated.",
            ["queue"],
            registry=self.registry,
        )
        self._pod_attempts = Histogram(
            "scheduler_pod_scheduling_attempts",
            "Number of attempts to successfully schedule a pod.",
            buckets=POD_ATTEMPTS_BUCKETS,
            registry=self.registry,
        )
        self._leader = Gauge(
            "leader_election_master_status",
            "Gauge of if the reporting system is master of the relevant lease, 0 indicates "
            "backup, 1 indicates master. 'name' is the string used to identify the lease. "
            "Please make sure to group by name.",
            ["name"],
            registry=self.registry,
        )
        for queue in QUEUES:  # present from the first scrape, as kube-scheduler's are
            self._pending.labels(queue).set(0)
        self._cluster = _ClusterGpus()
        self.registry.register(self._cluster)

    def attempt(self, result: str, duration_s: float) -> None:
        """One scheduling attempt of one pod (or gang member) and how long it took."""
        if result not in RESULTS:
            raise ValueError(f"result must be one of {', '.join(RESULTS)}, not {result!r}")
        self._attempts.labels(result, self.profile).inc()
        self._attempt_duration.labels(result, self.profile).observe(max(0.0, duration_s))

    def pending(self, queue: str, n: int) -> None:
        """How many pods wait in one of the scheduling queue's parts now."""
        if queue not in QUEUES:
            raise ValueError(f"queue must be one of {', '.join(QUEUES)}, not {queue!r}")
        self._pending.labels(queue).set(n)

    def pod_scheduled(self, attempts: int) -> None:
        """A pod was bound after `attempts` scheduling attempts."""
        self._pod_attempts.observe(attempts)

    def leader_status(self, name: str, leading: bool) -> None:
        """client-go's switch for the lease `name` (the elector calls it)."""
        self._leader.labels(name).set(1.0 if leading else 0.0)

    def watch_cluster(
        self, state: ClusterState, fragmentation: FragmentationMeter | None = None
    ) -> None:
        """Serve GPU gauges from this state from now on (again after a rebuild)."""
        self._cluster.state = state
        self._cluster.fragmentation = fragmentation

    def exposition(self) -> bytes:
        """The registry in Prometheus' text format."""
        return generate_latest(self.registry)


class _ClusterGpus(Collector):
    """gpuplane's GPU gauges of the state the scheduler holds; nothing before it has one."""

    def __init__(self) -> None:
        self.state: ClusterState | None = None
        self.fragmentation: FragmentationMeter | None = None

    def collect(self) -> Iterator[Metric]:
        if self.state is not None:
            yield from cluster_gpu_metrics(self.state, self.fragmentation)
