"""Borrowing, fair shares and Jain's index over time, on a cohort small enough to do by hand."""

from __future__ import annotations

import pytest

from gpuplane.objects.queues import Preemption, ReclaimWithinCohort
from gpuplane.sim.core.fairness import jain
from gpuplane.sim.core.invariants import check_all
from gpuplane.sim.core.metrics import Percentiles, Report
from gpuplane.sim.core.simulator import Simulator

from queueing_helpers import cq, engine, job

HOUR = 3600.0


def cohort_run(preemption: Preemption | None = None) -> tuple[Simulator, Report]:
    """Queues a and b own 4 of one node's 8 GPUs each and lend to each other.

    a asks for all 8 GPUs at 0 (two 4-GPU jobs of 100 s); b for 4 at 50 (one job of 100 s).
    """
    queues = [cq(q, 4, cohort="org", preemption=preemption) for q in ("a", "b")]
    sim = Simulator(engine(queues, nodes=1), check=check_all)
    sim.submit(
        [
            job("a1", "a", gpus_per_pod=4, duration=100),
            job("a2", "a", gpus_per_pod=4, duration=100),
            job("b1", "b", gpus_per_pod=4, created=50, duration=100),
        ]
    )
    return sim, sim.run()


def test_borrowing_without_preemption_by_hand() -> None:
    sim, report = cohort_run()
    # [0, 50): a alone wants 8, its fair share is 8 and it holds 8: Jain 1 over one queue.
    # [50, 100): b wants 4 (its fair share 4) but a holds all 8: x = (2, 0), Jain 0.5.
    # [100, 200): only b wants GPU and holds its share: Jain 1.
    assert report.jain == pytest.approx((50 * 1 + 50 * 0.5 + 100 * 1) / 200)
    # a held 8 x 100 against a fair share of 8 x 50 + 4 x 50; b 4 x 100 against 4 x 150.
    assert report.share_vs_fair == {"a": pytest.approx(800 / 600), "b": pytest.approx(400 / 600)}
    assert report.gpu_hours_borrowed == pytest.approx(4 * 100 / HOUR)
    assert report.wait_by_queue["b"].p50 == 50
    assert report.preemptions == 0
    assert report.utilization == pytest.approx((8 * 100 + 4 * 100) / (8 * 200))
    assert sim.records["ns/b1"].finished == 200


def test_reclaiming_by_preemption_by_hand() -> None:
    sim, report = cohort_run(Preemption(reclaim_within_cohort=ReclaimWithinCohort.ANY))
    # b takes its 4 GPUs back at 50: one of a's jobs is preempted (no checkpoints: 50 s lost)
    # and runs again when the other ends at 100; every queue holds its fair share throughout.
    assert report.preemptions == 1
    assert report.gpu_hours_lost == {"Preempted": pytest.approx(4 * 50 / HOUR)}
    assert report.jain == pytest.approx(1.0)
    assert report.wait_by_queue["b"].p50 == 0
    assert sorted(r.finished or 0 for r in sim.records.values()) == [100, 150, 200]
    assert report.gpu_hours_borrowed == pytest.approx(4 * 50 / HOUR)


def test_the_running_jain_sums_match_the_definition() -> None:
    sim, _ = cohort_run()
    metrics = sim.metrics
    assert metrics is not None
    xs = [h / f for h, f in zip(metrics.held, metrics.fair, strict=True) if f > 0]
    assert metrics.jain_now == pytest.approx(jain(xs) if xs else 1.0)


def test_percentiles_of_nothing_are_not_numbers() -> None:
    empty = Percentiles.of([])
    assert empty.count == 0 and empty.p50 != empty.p50
    assert Percentiles.of([3.0, 1.0, 2.0]) == Percentiles(3, 2.0, 2.9, 2.98, 2.0)
