"""SchedulingQueue: kube-scheduler's activeQ, backoffQ and unschedulable pods, on a fake clock."""

from __future__ import annotations

import pytest

from gpuplane.live.scheduling_queue import SchedulingQueue


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_active_pods_pop_by_priority_then_age() -> None:
    queue = SchedulingQueue(Clock())
    queue.add("old-low", 0, "2026-01-01T00:00:00Z")
    queue.add("new-high", 10, "2026-01-01T00:00:09Z")
    queue.add("new-low", 0, "2026-01-01T00:00:05Z")
    queue.add("old-high", 10, "2026-01-01T00:00:01Z")
    assert [queue.pop() for _ in range(5)] == ["old-high", "new-high", "old-low", "new-low", None]


def test_backoff_doubles_from_one_second_up_to_ten() -> None:
    clock = Clock()
    queue = SchedulingQueue(clock)
    queue.add("p", 0, "t")
    waits = []
    for _ in range(6):
        assert queue.pop() == "p"
        queue.done("p", unschedulable=False)
        assert queue.pop() is None  # backing off
        due = queue.next_due()
        assert due is not None
        waits.append(due - clock.now)
        clock.now = due - 0.001
        assert queue.pop() is None
        clock.now = due
    assert waits == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    assert queue.pop() == "p"


def test_unschedulable_pods_wait_for_a_cluster_event_or_five_minutes() -> None:
    clock = Clock()
    queue = SchedulingQueue(clock)
    for key in ("a", "b"):
        queue.add(key, 0, key)
        assert queue.pop() == key
        queue.done(key, unschedulable=True)
    clock.now += 60
    assert queue.pop() is None and queue.lengths()["unschedulable"] == 2
    queue.move_all()  # e.g. a node added: both may fit now, and their 1 s backoff is over
    assert sorted([queue.pop(), queue.pop()]) == ["a", "b"]  # type: ignore[type-var]
    queue.done("a", unschedulable=True)
    clock.now += 299
    assert queue.pop() is None
    clock.now += 1  # podMaxInUnschedulablePodsDuration: flushed without any event
    assert queue.pop() == "a"


def test_an_event_during_an_attempt_sends_the_pod_to_backoff_not_to_unschedulable() -> None:
    clock = Clock()
    queue = SchedulingQueue(clock)
    queue.add("p", 0, "t")
    assert queue.pop() == "p"
    queue.move_all()  # a GPU freed while "p" was being tried
    queue.done("p", unschedulable=True)
    assert queue.lengths() == {"active": 0, "backoff": 1, "unschedulable": 0}
    clock.now += 1
    assert queue.pop() == "p"


def test_an_updated_unschedulable_pod_is_tried_again_and_a_deleted_one_never() -> None:
    clock = Clock()
    queue = SchedulingQueue(clock)
    queue.add("p", 0, "t")
    queue.add("q", 0, "t")
    assert queue.pop() == "p"
    queue.done("p", unschedulable=True)
    clock.now += 5
    queue.add("p", 5, "t")  # its spec changed
    queue.delete("q")
    assert queue.pop() == "p" and queue.pop() is None and "q" not in queue


def test_many_waiting_pods_leave_backoff_in_expiry_order_and_are_counted() -> None:
    clock = Clock()
    queue = SchedulingQueue(clock)
    for i in range(50):
        queue.add(f"p{i}", 0, f"t{i:02d}")
    for i in range(50):
        assert queue.pop() == f"p{i}"
        clock.now += 0.01  # each fails a little later: its backoff ends a little later
        queue.done(f"p{i}", unschedulable=i % 2 == 1)
    assert queue.lengths() == {"active": 0, "backoff": 25, "unschedulable": 25}
    queue.delete("p0")
    assert queue.next_due() == pytest.approx(100.03 + 1.0)  # p2 failed at 100.03; p0 is gone
    clock.now += 1.0
    ready = []
    while (key := queue.pop()) is not None:
        ready.append(key)
    assert ready == [f"p{i}" for i in range(2, 50, 2)]
    assert queue.lengths() == {"active": 0, "backoff": 0, "unschedulable": 25}
    queue.move_all()
    assert queue.lengths() == {"active": 25, "backoff": 0, "unschedulable": 0}
