"""Pending workloads per ClusterQueue: ordering, heads, and which queues to look at next.

Each queue is a heap ordered by priority, then arrival. StrictFIFO shows only its head;
BestEffortFIFO up to `scan_limit` workloads, so that a cycle's cost does not grow with the
backlog. A queue whose heads could not be admitted is not looked at again until something
that could help it happens (it is woken): a workload of its cohort tree releases quota, or
any workload releases cluster capacity.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterable, Mapping

from gpuplane.objects.queues import ClusterQueue, QueueingStrategy
from gpuplane.queueing.quota import QuotaNode, QuotaTree
from gpuplane.queueing.workload import Workload

_Entry = tuple[int, float, int, str]  # (-priority, created, sequence, key)


class PendingQueues:
    """The pending workloads of every ClusterQueue, and the set of queues worth a look."""

    def __init__(
        self, queues: Mapping[str, ClusterQueue], tree: QuotaTree, scan_limit: int
    ) -> None:
        self.queues = queues
        self.scan_limit = scan_limit
        self._heaps: dict[str, list[_Entry]] = {q: [] for q in queues}
        self._pending: dict[str, tuple[Workload, str]] = {}
        self._count: dict[str, int] = dict.fromkeys(queues, 0)
        #: Per queue, bumped on every push and take: `heads` answers are kept until it moves.
        self._changes: dict[str, int] = dict.fromkeys(queues, 0)
        self._heads: dict[str, tuple[int, list[Workload]]] = {}
        self._seq = itertools.count()
        #: Queues to look at in the next pass.
        self.dirty: set[str] = set()
        #: Queues blocked by the cluster (not quota): any released capacity wakes them.
        self.waiting_capacity: set[str] = set()
        self._root_of = {name: _root(node).name for name, node in tree.nodes.items()}
        self._members: dict[str, set[str]] = {}
        for name, root in self._root_of.items():
            self._members.setdefault(root, set()).add(name)

    def __len__(self) -> int:
        return len(self._pending)

    def __contains__(self, key: str) -> bool:
        return key in self._pending

    def get(self, key: str) -> Workload:
        return self._pending[key][0]

    def count(self, queue: str) -> int:
        return self._count[queue]

    def members(self, queue: str) -> set[str]:
        """The queues of `queue`'s cohort tree (itself included)."""
        return self._members[self._root_of[queue]]

    def sequence(self) -> int:
        """A fresh tie-breaker, increasing."""
        return next(self._seq)

    def push(self, workload: Workload, queue: str) -> None:
        entry = (-workload.priority, workload.created, next(self._seq), workload.key)
        heapq.heappush(self._heaps[queue], entry)
        self._pending[workload.key] = (workload, queue)
        self._count[queue] += 1
        self._changes[queue] += 1
        self.dirty.add(queue)

    def take(self, key: str) -> tuple[Workload, str]:
        """Remove a pending workload (admitted, or moved); its heap entry goes stale."""
        workload, queue = self._pending.pop(key)
        self._count[queue] -= 1
        self._changes[queue] += 1
        return workload, queue

    def wake_all(self) -> None:
        """Every queue with pending work looks again."""
        self.dirty |= {q for q in self.queues if self._count[q]}

    def wake(self, queue: str) -> None:
        """Capacity was released by a workload of `queue`: who might now get in."""
        self.dirty |= {q for q in self.members(queue) if self._count[q]}
        self.dirty |= {q for q in self.waiting_capacity if self._count[q]}
        self.waiting_capacity.clear()

    def take_dirty(self) -> Iterable[str]:
        """The queues to look at now, sorted; the dirty set starts over empty."""
        dirty, self.dirty = self.dirty, set()
        return sorted(dirty)

    def peek(self, queue: str) -> Workload | None:
        """The queue's first pending workload, in O(1) once stale entries are dropped."""
        heap = self._heaps[queue]
        while heap:
            found = self._pending.get(heap[0][3])
            if found is not None and found[1] == queue:
                return found[0]
            heapq.heappop(heap)
        return None

    def heads(self, queue: str) -> list[Workload]:
        """Up to scan_limit pending workloads of a queue in order (StrictFIFO: just the head).

        Costs O(scan_limit log n): entries are popped and pushed back, never scanned; and
        nothing while the queue has not changed since the last time (a queue woken by room
        released elsewhere is looked at again with the same heads).
        """
        known = self._heads.get(queue)
        if known is not None and known[0] == self._changes[queue]:
            return list(known[1])
        heap = self._heaps[queue]
        limit = 1 if self.strict(queue) else self.scan_limit
        out: list[Workload] = []
        kept: list[_Entry] = []
        seen: set[str] = set()
        while heap and len(out) < limit:
            entry = heapq.heappop(heap)
            found = self._pending.get(entry[3])
            if found is None or found[1] != queue:
                continue  # admitted or moved since: drop the stale entry
            if entry[3] in seen:
                continue  # a duplicate left by a requeue
            seen.add(entry[3])
            kept.append(entry)
            out.append(found[0])
        for entry in kept:
            heapq.heappush(heap, entry)
        self._heads[queue] = (self._changes[queue], out)
        return list(out)

    def strict(self, queue: str) -> bool:
        return self.queues[queue].queueing_strategy is QueueingStrategy.STRICT_FIFO


def _root(node: QuotaNode) -> QuotaNode:
    while node.parent is not None:
        node = node.parent
    return node


def admits_namespace(cq: ClusterQueue, w: Workload) -> bool:
    """Whether the queue's namespaceSelector lets workloads of `w`'s namespace in."""
    if cq.admits_no_namespace:
        return False  # no selector at all: Kueue admits nothing (labels.Nothing())
    if cq.namespace_selector is None:
        return True
    # gpuplane has no Namespace objects; a selector on kubernetes.io/metadata.name still works.
    name = cq.namespace_selector.get("kubernetes.io/metadata.name")
    return name is None or name == w.namespace
