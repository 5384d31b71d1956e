"""The simulator's events and its clock: a heap of (time, sequence, event).

The sequence number is taken when an event is pushed, so events at the same instant come out
in the order they were pushed, and two runs that push the same events in the same order pop
them in the same order: the heap never compares events themselves.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass

from gpuplane.queueing.workload import Workload


@dataclass(frozen=True)
class Arrival:
    """A workload is submitted to its queue."""

    workload: Workload


@dataclass(frozen=True)
class Completion:
    """A running workload finishes its work; `run` tells a stale completion from a live one."""

    key: str
    run: int


@dataclass(frozen=True)
class NodeFailure:
    """A node goes down: what runs on it is evicted and its GPUs take no new work."""

    node: str


@dataclass(frozen=True)
class NodeRecovery:
    """A failed node comes back."""

    node: str


@dataclass(frozen=True)
class GpuHealth:
    """One GPU turns unhealthy (what runs on it is evicted) or healthy again."""

    node: str
    gpu: int
    healthy: bool


@dataclass(frozen=True)
class Wake:
    """Nothing happens but time: run an admission cycle (a gang's reservation may expire)."""


Event = Arrival | Completion | NodeFailure | NodeRecovery | GpuHealth | Wake


class EventQueue:
    """Events ordered by time, then by the order they were pushed."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Event]] = []
        self._seq = itertools.count()

    def __len__(self) -> int:
        return len(self._heap)

    def push(self, time: float, event: Event) -> None:
        if time != time:  # NaN would corrupt the heap order silently
            raise ValueError(f"event {event} has no time")
        heapq.heappush(self._heap, (time, next(self._seq), event))

    def next_time(self) -> float | None:
        """When the earliest event happens, or None when there is none."""
        return self._heap[0][0] if self._heap else None

    def peek(self) -> tuple[float, Event] | None:
        """The earliest event and its time, left in the queue; None when there is none."""
        if not self._heap:
            return None
        time, _, event = self._heap[0]
        return time, event

    def pop(self) -> tuple[float, Event]:
        """The earliest event and its time."""
        time, _, event = heapq.heappop(self._heap)
        return time, event
