"""A scheduling queue like kube-scheduler's: activeQ, backoffQ and the unschedulable pods.

* activeQ: pods to try now, highest priority first, then oldest (kube-scheduler's PrioritySort).
* backoffQ: pods that failed, each waiting out its backoff: 1 s after the first failed attempt,
  doubling per attempt up to 10 s (podInitialBackoffSeconds=1, podMaxBackoffSeconds=10).
* unschedulable: pods no node could take. A cluster event that could make them fit (a node
  added or changed, a pod deleted or finished, GPUs freed) moves them all back (to backoffQ
  while their backoff lasts, else to activeQ); any left there 5 minutes are flushed back
  anyway (podMaxInUnschedulablePodsDuration).

If such an event arrives while a pod is being tried, the pod goes to backoffQ rather than to
the unschedulable pods when its attempt fails, as kube-scheduler's moveRequestCycle does:
otherwise the event that would have let it fit is lost. The clock is injected.

Each queue is a heap (activeQ by priority and age, backoffQ by expiry, the unschedulable pods
by their 5-minute flush), entries superseded lazily: a pop costs O(log n) however many pods
wait in backoff or as unschedulable; only a cluster event walks the unschedulable pods.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass

INITIAL_BACKOFF_S = 1.0
MAX_BACKOFF_S = 10.0
MAX_UNSCHEDULABLE_S = 300.0

ACTIVE, BACKOFF, UNSCHEDULABLE = "active", "backoff", "unschedulable"


@dataclass
class QueuedPod:
    key: str
    priority: int
    created: str
    attempts: int = 0
    #: When the last attempt failed (clock time), and when the pod entered the unschedulable pods.
    failed_at: float = 0.0
    unschedulable_since: float = 0.0
    #: The move epoch when the pod was popped (see SchedulingQueue.done).
    popped_epoch: int = -1


class SchedulingQueue:
    """Pods by key, in exactly one of activeQ, backoffQ, unschedulable or in flight."""

    def __init__(
        self,
        clock: Callable[[], float],
        *,
        initial_backoff_s: float = INITIAL_BACKOFF_S,
        max_backoff_s: float = MAX_BACKOFF_S,
        max_unschedulable_s: float = MAX_UNSCHEDULABLE_S,
    ) -> None:
        self.clock = clock
        self.initial_backoff_s = initial_backoff_s
        self.max_backoff_s = max_backoff_s
        self.max_unschedulable_s = max_unschedulable_s
        self.pods: dict[str, QueuedPod] = {}
        # key -> ACTIVE | BACKOFF | UNSCHEDULABLE; absent while in flight
        self.where: dict[str, str] = {}
        self._counts = dict.fromkeys((ACTIVE, BACKOFF, UNSCHEDULABLE), 0)
        self._unschedulable: set[str] = set()  # for move_all
        self._heap: list[tuple[int, str, int, str]] = []  # activeQ
        # backoffQ by expiry, and the unschedulable pods by when they are flushed anyway
        self._backoff: list[tuple[float, int, str]] = []
        self._stale: list[tuple[float, int, str]] = []
        # key -> sequence number of its live entry in whichever heap holds it
        self._entry: dict[str, int] = {}
        self._seq = itertools.count()
        self._epoch = 0

    # -- adding and removing ---------------------------------------------------------------

    def add(self, key: str, priority: int, created: str, *, updated: bool = True) -> None:
        """A pending pod seen (added or updated). A pod waiting as unschedulable is moved back
        when `updated` (its spec changed, so it may fit now); status-only changes, such as our
        own PodScheduled condition, are not updates."""
        pod = self.pods.get(key)
        if pod is None:
            self.pods[key] = QueuedPod(key, priority, created)
            self._to_active(key)
            return
        changed = (pod.priority, pod.created) != (priority, created)
        pod.priority, pod.created = priority, created
        where = self.where.get(key)
        if where == UNSCHEDULABLE and updated:
            self._requeue(pod)
        elif where == ACTIVE and changed:
            self._to_active(key)

    def delete(self, key: str) -> None:
        """The pod is gone, bound or no longer ours: forget it wherever it is."""
        self.pods.pop(key, None)
        self._leave(key)

    def __contains__(self, key: str) -> bool:
        return key in self.pods

    # -- the cycle -------------------------------------------------------------------------

    def pop(self) -> str | None:
        """The next pod to try (after moving expired backoffs and stale unschedulables)."""
        self.flush()
        while self._heap:
            _, _, seq, key = heapq.heappop(self._heap)
            if self._entry.get(key) != seq:
                continue  # superseded or deleted
            self._leave(key)
            self.pods[key].popped_epoch = self._epoch
            return key
        return None

    def take(self, key: str) -> bool:
        """Put a pod in flight whatever queue it is in (a gang's members are tried together)."""
        if key not in self.pods:
            return False
        self._leave(key)
        self.pods[key].popped_epoch = self._epoch
        return True

    def done(self, key: str, *, unschedulable: bool) -> None:
        """A failed attempt: unschedulable (no node fits) or an error (to retry after backoff)."""
        pod = self.pods.get(key)
        if pod is None or key in self.where:
            return
        now = self.clock()
        pod.attempts += 1
        pod.failed_at = now
        if unschedulable and pod.popped_epoch == self._epoch:
            pod.unschedulable_since = now
            self._enter(key, UNSCHEDULABLE)
            self._unschedulable.add(key)
            due = now + self.max_unschedulable_s
            heapq.heappush(self._stale, (due, self._entry[key], key))
        else:
            self._requeue(pod)

    def move_all(self) -> None:
        """A cluster event that could make unschedulable pods fit: move them all back."""
        self._epoch += 1
        for key in list(self._unschedulable):
            self._requeue(self.pods[key])

    def flush(self) -> None:
        now = self.clock()
        for key in self._due(self._backoff, now):
            self._to_active(key)
        for key in self._due(self._stale, now):
            self._requeue(self.pods[key])

    # -- reading ---------------------------------------------------------------------------

    def backoff_s(self, pod: QueuedPod) -> float:
        if pod.attempts == 0:
            return 0.0
        return min(self.max_backoff_s, self.initial_backoff_s * 2.0 ** (pod.attempts - 1))

    def backoff_until(self, pod: QueuedPod) -> float:
        return pod.failed_at + self.backoff_s(pod)

    def next_due(self) -> float | None:
        """Clock time of the next backoff expiry or unschedulable flush, if any pod waits."""
        times = [heap[0][0] for heap in (self._backoff, self._stale) if self._top(heap)]
        return min(times, default=None)

    def lengths(self) -> dict[str, int]:
        return dict(self._counts)

    # -- moving ----------------------------------------------------------------------------

    def _requeue(self, pod: QueuedPod) -> None:
        until = self.backoff_until(pod)
        if until > self.clock():
            self._enter(pod.key, BACKOFF)
            heapq.heappush(self._backoff, (until, self._entry[pod.key], pod.key))
        else:
            self._to_active(pod.key)

    def _to_active(self, key: str) -> None:
        pod = self.pods[key]
        self._enter(key, ACTIVE)
        heapq.heappush(self._heap, (-pod.priority, pod.created, self._entry[key], key))

    def _enter(self, key: str, where: str) -> None:
        """Put a pod in one queue (leaving any other): its new entry supersedes the old."""
        self._leave(key)
        self.where[key] = where
        self._counts[where] += 1
        self._entry[key] = next(self._seq)

    def _leave(self, key: str) -> None:
        where = self.where.pop(key, None)
        if where is not None:
            self._counts[where] -= 1
        self._entry.pop(key, None)
        self._unschedulable.discard(key)

    def _top(self, heap: list[tuple[float, int, str]]) -> bool:
        """Drop superseded entries from the top of a waiting heap; True if one is left."""
        while heap and self._entry.get(heap[0][2]) != heap[0][1]:
            heapq.heappop(heap)
        return bool(heap)

    def _due(self, heap: list[tuple[float, int, str]], now: float) -> list[str]:
        """Pop the keys whose time in a waiting heap has come."""
        keys = []
        while self._top(heap) and heap[0][0] <= now:
            keys.append(heapq.heappop(heap)[2])
        return keys
