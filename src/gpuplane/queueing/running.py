"""Admitted workloads as preemption sees them, indexed by queue and priority.

Every preemption policy picks its victims among a queue's running workloads by priority
(lower than the preemptor's, at most a threshold, or equal and newer), so the index keeps each
queue's workloads in buckets by priority with the priorities sorted: a victim search reads
only the buckets its policy allows instead of every running workload of the cohort.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from gpuplane.queueing.workload import Workload


@dataclass(frozen=True)
class Running:
    """An admitted workload as preemption sees it."""

    workload: Workload
    queue: str
    admitted_at: float

    def lost_work(self, now: float) -> float:
        """Seconds of work lost if stopped now: since the last checkpoint (or the start)."""
        ran = max(0.0, now - self.admitted_at)
        interval = self.workload.checkpoint_interval
        return ran % interval if interval else ran


class RunningIndex:
    """The running workloads of each queue, in buckets by priority."""

    def __init__(self, queues: Iterable[str]) -> None:
        self._buckets: dict[str, dict[int, dict[str, Running]]] = {q: {} for q in queues}
        self._priorities: dict[str, list[int]] = {q: [] for q in self._buckets}
        self._count: dict[str, int] = dict.fromkeys(self._buckets, 0)

    def add(self, running: Running) -> None:
        queue, priority = running.queue, running.workload.priority
        buckets = self._buckets[queue]
        bucket = buckets.get(priority)
        if bucket is None:
            bucket = buckets[priority] = {}
            insort(self._priorities[queue], priority)
        bucket[running.workload.key] = running
        self._count[queue] += 1

    def remove(self, workload: Workload, queue: str) -> None:
        buckets = self._buckets[queue]
        bucket = buckets[workload.priority]
        del bucket[workload.key]
        self._count[queue] -= 1
        if not bucket:
            del buckets[workload.priority]
            priorities = self._priorities[queue]
            del priorities[bisect_left(priorities, workload.priority)]

    def count(self, queue: str) -> int:
        """How many workloads of `queue` run."""
        return self._count.get(queue, 0)

    def all(self, queue: str) -> Iterator[Running]:
        for bucket in self._buckets[queue].values():
            yield from bucket.values()

    def below(self, queue: str, bound: float) -> Iterator[Running]:
        """The running workloads of `queue` with priority strictly below `bound`."""
        buckets = self._buckets[queue]
        priorities = self._priorities[queue]
        for priority in priorities[: bisect_left(priorities, bound)]:
            yield from buckets[priority].values()

    def at(self, queue: str, priority: int) -> Iterable[Running]:
        """The running workloads of `queue` with exactly `priority`."""
        return self._buckets[queue].get(priority, {}).values()
