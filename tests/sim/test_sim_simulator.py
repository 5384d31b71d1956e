"""The discrete-event simulator on hand-sized clusters whose every number can be worked out."""

from __future__ import annotations

import math

import pytest

from gpuplane.objects.queues import Preemption, WithinClusterQueue
from gpuplane.sim.core.events import Arrival, Completion, EventQueue, NodeFailure
from gpuplane.sim.core.invariants import check_all
from gpuplane.sim.core.records import WorkloadRecord
from gpuplane.sim.core.simulator import Simulator

from queueing_helpers import cq, engine, job

HOUR = 3600.0


def one_node(**config: object) -> Simulator:
    """One node of 8 GPUs, one queue `q` owning all of them; invariants checked on every event."""
    within = Preemption(within_cluster_queue=WithinClusterQueue.LOWER_PRIORITY)
    return Simulator(engine([cq("q", 8, preemption=within)], nodes=1, **config), check=check_all)


# -- the event queue ---------------------------------------------------------------------------


def test_events_pop_by_time_then_in_the_order_pushed() -> None:
    events = EventQueue()
    events.push(5.0, NodeFailure("b"))
    events.push(1.0, NodeFailure("a"))
    events.push(5.0, NodeFailure("c"))
    events.push(1.0, Completion("x", 1))
    popped = [events.pop() for _ in range(4)]
    assert popped == [
        (1.0, NodeFailure("a")),
        (1.0, Completion("x", 1)),
        (5.0, NodeFailure("b")),
        (5.0, NodeFailure("c")),
    ]
    assert events.next_time() is None


def test_an_event_without_a_time_is_refused() -> None:
    with pytest.raises(ValueError, match="no time"):
        EventQueue().push(math.nan, Arrival(job("a", "q")))


# -- runs, completions, waits ------------------------------------------------------------------


def test_completions_free_capacity_and_the_metrics_add_up_by_hand() -> None:
    sim = one_node()
    # 8 GPUs: a runs 0-100, b waits for it and runs 100-150, c arrives at 10 and runs 150-190.
    sim.submit(
        [
            job("a", "q", gpus_per_pod=8, duration=100),
            job("b", "q", gpus_per_pod=8, duration=50),
            job("c", "q", gpus_per_pod=8, created=10, duration=40),
        ]
    )
    report = sim.run()
    finished = {k: r.finished for k, r in sim.records.items()}
    assert finished == {"ns/a": 100, "ns/b": 150, "ns/c": 190}
    # Waits 0, 100 and 140: the median is 100.
    assert report.wait.count == 3
    assert report.wait.p50 == 100
    assert report.wait.mean == pytest.approx(80)
    assert report.wait_by_queue["q"].p50 == 100
    # Completion times 100, 150 and 180.
    assert report.jct.p50 == 150
    assert report.jct.mean == pytest.approx(430 / 3)
    # 8 GPUs busy from 0 to 190, the whole run: 8 x 190 s of GPU.
    assert report.gpu_hours_used == pytest.approx(8 * 190 / HOUR)
    assert report.utilization == pytest.approx(1.0)
    assert report.end == 190
    assert report.gpu_hours_lost == {}
    assert report.series.allocated_milli[-1] == 0


def test_a_gap_in_the_work_shows_in_utilization() -> None:
    sim = one_node()
    sim.submit([job("a", "q", gpus_per_pod=4, duration=100)])
    sim.submit([job("b", "q", gpus_per_pod=8, created=300, duration=100)])
    report = sim.run()
    # 4 GPUs for 100 s, then nothing until 300, then 8 GPUs for 100 s; over 8 GPUs x 400 s.
    assert report.utilization == pytest.approx((4 * 100 + 8 * 100) / (8 * 400))
    assert report.wait.p99 == 0


# -- preemption and checkpoints ----------------------------------------------------------------


def test_a_preempted_workload_restarts_from_its_last_checkpoint() -> None:
    sim = one_node()
    low = job("low", "q", gpus_per_pod=8, duration=1000, checkpoint=300)
    high = job("high", "q", gpus_per_pod=8, priority=10, created=700, duration=200)
    sim.submit([low, high])
    report = sim.run()
    rec = sim.records["ns/low"]
    # Preempted at 700 after checkpoints at 300 and 600: 100 s of work lost, 400 s left,
    # run again when `high` ends at 900.
    assert rec.lost == pytest.approx(100)
    assert rec.evictions == 1
    assert rec.finished == pytest.approx(1300)
    assert sim.records["ns/high"].finished == pytest.approx(900)
    assert report.preemptions == 1
    assert report.gpu_hours_lost == {"Preempted": pytest.approx(8 * 100 / HOUR)}
    # Work done plus work lost is what the GPUs were busy with.
    assert report.gpu_hours_used == pytest.approx(8 * (1000 + 100 + 200) / HOUR)


def test_without_checkpoints_a_preempted_workload_starts_over() -> None:
    sim = one_node()
    sim.submit(
        [
            job("low", "q", gpus_per_pod=8, duration=1000),
            job("high", "q", gpus_per_pod=8, priority=10, created=700, duration=200),
        ]
    )
    sim.run()
    rec = sim.records["ns/low"]
    assert rec.lost == pytest.approx(700)
    assert rec.finished == pytest.approx(900 + 1000)


def test_the_record_keeps_only_whole_checkpoints() -> None:
    rec = WorkloadRecord(job("w", "q", duration=100, checkpoint=30), "q", 0.0, 1000)
    rec.start(10.0)
    assert rec.stop(10.0 + 75) == pytest.approx(15)  # checkpoints at 30 and 60 of the run
    assert rec.remaining() == pytest.approx(40)
    rec.start(200.0)
    assert rec.expected_end() == pytest.approx(240)
    # A second run counts its checkpoints from its own start, and never past the work left.
    assert rec.stop(200.0 + 35) == pytest.approx(5)
    assert rec.remaining() == pytest.approx(10)


# -- failures ----------------------------------------------------------------------------------


def test_a_node_failure_evicts_requeues_and_keeps_work_off_the_node() -> None:
    sim = Simulator(engine([cq("q", 16)], nodes=2), check=check_all)
    sim.submit(
        [
            job("a", "q", gpus_per_pod=8, duration=100, checkpoint=40),
            job("b", "q", gpus_per_pod=8, duration=100),
            job("c", "q", gpus_per_pod=8, created=60, duration=10),
        ]
    )
    # a lands on n0 (first in cluster order), b on n1.
    sim.fail_node("n0", at=50, recover_at=200)
    report = sim.run()
    a, c = sim.records["ns/a"], sim.records["ns/c"]
    # a loses 10 s (checkpoint at 40), waits for b to free n1 at 100, runs its last 60 s.
    assert a.evictions == 1
    assert a.lost == pytest.approx(10)
    assert a.finished == pytest.approx(160)
    # c, arriving while n0 is down, cannot land there: it waits for n1 too.
    assert c.first_admitted == pytest.approx(160)
    assert report.evictions == {"NodeFailure": 1}
    assert report.gpu_hours_lost == {"NodeFailure": pytest.approx(8 * 10 / HOUR)}
    # After the recovery at 200 every GPU is healthy again.
    assert bool(sim.state.gpu_healthy.all())


def test_a_recovered_node_takes_work_again() -> None:
    sim = one_node()
    sim.fail_node("n0", at=0, recover_at=10)
    sim.submit([job("a", "q", gpus_per_pod=8, created=1, duration=5)])
    sim.run()
    # Nothing can run while the only node is down; the work starts when it comes back.
    assert sim.records["ns/a"].first_admitted == 10
    assert sim.records["ns/a"].finished == 15


def test_an_unhealthy_gpu_evicts_only_what_runs_on_it() -> None:
    sim = Simulator(engine([cq("q", 16)], nodes=1), check=check_all)
    sim.submit(
        [job("a", "q", gpus_per_pod=1, duration=100), job("b", "q", gpus_per_pod=1, duration=100)]
    )
    sim.gpu_health("n0", 0, at=10, healthy=False)  # a has GPU 0, b GPU 1
    sim.gpu_health("n0", 0, at=20, healthy=True)
    sim.run()
    assert sim.records["ns/a"].evictions == 1
    assert sim.records["ns/b"].evictions == 0
    assert sim.records["ns/b"].finished == pytest.approx(100)
    # a is placed again at 10 on another GPU, from scratch.
    assert sim.records["ns/a"].finished == pytest.approx(110)


def test_failures_name_real_nodes_and_gpus() -> None:
    sim = one_node()
    with pytest.raises(ValueError, match="no node named"):
        sim.fail_node("nope", at=1)
    with pytest.raises(ValueError, match="no GPU 8"):
        sim.gpu_health("n0", 8, at=1, healthy=False)
    with pytest.raises(ValueError, match="before failing"):
        sim.fail_node("n0", at=10, recover_at=5)


# -- gangs, quota-only admission, odd inputs ---------------------------------------------------


def test_a_gang_runs_whole_or_waits() -> None:
    sim = Simulator(engine([cq("q", 16)], nodes=2), check=check_all)
    sim.submit(
        [
            job("small", "q", gpus_per_pod=4, duration=100),
            job("gang", "q", gpus_per_pod=8, pods=2, duration=50),
        ]
    )
    sim.run()
    # Two 8-GPU pods need both nodes empty: the gang starts when `small` ends.
    assert sim.records["ns/gang"].first_admitted == pytest.approx(100)
    assert sim.records["ns/gang"].finished == pytest.approx(150)


def test_in_quota_only_mode_work_starts_when_the_pods_are_placed() -> None:
    sim = Simulator(engine([cq("q", 16)], nodes=1, placement_aware=False), check=check_all)
    sim.submit(
        [
            job("a", "q", gpus_per_pod=8, duration=100),
            job("b", "q", gpus_per_pod=8, duration=100),
        ]
    )
    report = sim.run()
    # Quota admits both at 0, so neither waits; the pods of one find room when the other ends.
    # (Which one goes first is the engine's tie; see the report.)
    assert [r.first_admitted for r in sim.records.values()] == [0, 0]
    assert sorted(r.finished or 0 for r in sim.records.values()) == [100, 200]
    assert report.wait.p99 == 0
    assert report.jct.p50 == pytest.approx(150)


def test_quota_held_by_admitted_but_unplaced_work_is_counted() -> None:
    """Quota-only admission (Kueue today): the second 8-GPU job holds its 8 GPUs of quota for
    100 s before its pod finds room, and starts 100 s after it was admitted. With placement-aware
    admission (gpuplane's check) nothing is held idle: it is admitted when it can run."""
    for aware, held, starts in ((False, 8 * 100 / HOUR, [0, 100]), (True, 0.0, [0, 100])):
        sim = Simulator(engine([cq("q", 16)], nodes=1, placement_aware=aware), check=check_all)
        sim.submit(
            [
                job("a", "q", gpus_per_pod=8, duration=100),
                job("b", "q", gpus_per_pod=8, duration=100),
            ]
        )
        report = sim.run()
        assert report.gpu_hours_held_unplaced == pytest.approx(held), aware
        assert sorted(r.first_started or 0 for r in sim.records.values()) == starts
        admitted = sorted(r.first_admitted or 0 for r in sim.records.values())
        assert admitted == ([0, 0] if not aware else [0, 100])


def test_unknown_queues_are_rejected_and_reported() -> None:
    sim = one_node()
    sim.submit([job("a", "nope", duration=10), job("b", "q", duration=10)])
    report = sim.run()
    said = "LocalQueue ns/nope does not exist or names no ClusterQueue (inactive)"
    assert sim.records["ns/a"].rejected == said
    assert (report.submitted, report.rejected, report.finished) == (2, 1, 1)


def test_a_workload_submitted_twice_is_an_error() -> None:
    sim = one_node()
    sim.submit([job("a", "q", duration=10), job("a", "q", created=5, duration=10)])
    with pytest.raises(ValueError, match="submitted twice"):
        sim.run()


def test_a_workload_without_duration_runs_until_the_end() -> None:
    sim = one_node()
    sim.submit([job("service", "q", gpus_per_pod=2), job("batch", "q", duration=30)])
    report = sim.run(until=100)
    assert sim.records["ns/service"].running
    assert report.end == 100
    assert report.gpu_hours_used == pytest.approx((2 * 100 + 1 * 30) / HOUR)


def test_run_stops_when_asked() -> None:
    sim = one_node()
    sim.submit([job(f"w{i}", "q", gpus_per_pod=8, created=i, duration=5) for i in range(10)])
    sim.run(stop=lambda s: s.admissions >= 3)
    assert sim.admissions == 3


def test_a_reservation_never_starves_an_empty_cluster() -> None:
    sim = Simulator(engine([cq("q", 32)], nodes=2), check=check_all)
    # x fills n0 until 100, eight 1-GPU jobs fill n1 until 1000. The gang r (2 x 8 GPUs)
    # arrives at 1, fits its quota but not the cluster: it reserves, to start at 1000.
    sim.submit(
        [job("x", "q", gpus_per_pod=8, duration=100)]
        + [job(f"w{i}", "q", gpus_per_pod=1, duration=1000) for i in range(8)]
        + [job("r", "q", gpus_per_pod=8, pods=2, created=1, duration=10)]
    )
    # n1 fails at 2: the eight jobs go back to the queue, ahead of r (they are older).
    sim.fail_node("n1", at=2, recover_at=50)
    report = sim.run()
    assert report.finished == report.submitted
