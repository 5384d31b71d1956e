"""The three-teams scenario: its file, its variants, and what the semantics say must differ.

The smaller seeded version (60% of the arrivals) runs each variant once with every invariant
checked after every event, then compares: borrowing must raise utilization and cut waits
against no sharing; fair sharing with preemption must bring the teams' GPU closer to their
fair shares (Jain's index up against borrowing alone), at the price of preemptions and lost
work; without preemption nothing is ever preempted.
"""

from __future__ import annotations

from typing import Any

import pytest

from gpuplane.errors import InputError
from gpuplane.objects.queues import QueueingStrategy, ReclaimWithinCohort
from gpuplane.queueing import CycleResult
from gpuplane.queueing.engine import ExpectedEnd
from gpuplane.sim.core.invariants import check_all
from gpuplane.sim.core.metrics import Report
from gpuplane.sim.core.simulator import Check, Simulator
from gpuplane.sim.twin.load import Twin, apply_variant, load_twin
from gpuplane.sim.twin.parse import parse_twin
from gpuplane.sim.twin.run_variants import variant_queueing, variant_simulator
from gpuplane.sim.twin.spec_workload import QueueingSpec

from helpers import EXAMPLES

SCENARIO = EXAMPLES / "queueing" / "scenario.yaml"


def simulator(twin: Twin, variant: str, check: Check | None = None) -> Simulator:
    """A simulator of one variant, to be run past the horizon until every workload ends."""
    setup = next(s for s in twin.variants if s.name == variant)
    return variant_simulator(setup, variant_queueing(setup), check=check)


@pytest.fixture(scope="module")
def scenario() -> Twin:
    return load_twin(SCENARIO)


@pytest.fixture(scope="module")
def reports() -> dict[str, Report]:
    small = load_twin(SCENARIO, seed=3, scale=0.6)
    return {
        v: simulator(small, v, check_all).run()
        for v in ("no-sharing", "borrowing", "fair-preemption")
    }


def test_every_variant_runs_every_workload_to_the_end(reports: dict[str, Report]) -> None:
    for report in reports.values():
        assert report.submitted == 2 + round(16 * 0.6) + round(240 * 0.6)
        assert report.rejected == 0
        assert report.finished == report.submitted


def test_borrowing_raises_utilization_and_cuts_waits(reports: dict[str, Report]) -> None:
    alone, borrowing = reports["no-sharing"], reports["borrowing"]
    assert borrowing.utilization > alone.utilization + 0.1
    assert borrowing.wait.mean < alone.wait.mean
    assert borrowing.wait.p95 < alone.wait.p95
    assert borrowing.gpu_hours_borrowed > 0
    assert alone.gpu_hours_borrowed == 0


def test_fair_sharing_with_preemption_evens_shares_at_a_price(reports: dict[str, Report]) -> None:
    borrowing, fair = reports["borrowing"], reports["fair-preemption"]
    assert fair.jain > borrowing.jain
    assert fair.preemptions > 0
    assert fair.gpu_hours_lost_to_preemption > 0
    assert borrowing.preemptions == 0 and reports["no-sharing"].preemptions == 0


def test_the_node_failure_hits_every_variant(reports: dict[str, Report]) -> None:
    for report in reports.values():
        assert report.evictions.get("NodeFailure", 0) >= 1


def test_variants_change_only_the_rules(scenario: Twin) -> None:
    configs = {s.name: s.config for s in scenario.variants}
    assert {q.cohort for q in configs["no-sharing"].cluster_queues} == {None}
    fair = configs["fair-preemption"]
    assert fair.fair_sharing
    assert {q.preemption.reclaim_within_cohort for q in fair.cluster_queues} == {
        ReclaimWithinCohort.ANY
    }
    reference = scenario.variants[0].reference
    assert not reference.fair_sharing and {q.cohort for q in reference.cluster_queues} == {"org"}
    strict = apply_variant(reference, QueueingSpec(queueing_strategy=QueueingStrategy.STRICT_FIFO))
    assert {q.queueing_strategy for q in strict.cluster_queues} == {QueueingStrategy.STRICT_FIFO}


def body(workload: dict[str, Any]) -> dict[str, Any]:
    return {"cluster": {"nodes": "c.yaml"}, "queues": ["q.yaml"], "workload": workload}


def test_a_scenario_with_an_unknown_kind_is_refused() -> None:
    workload = {
        "kinds": {"train": {"duration": "1h"}},
        "arrivals": [
            {
                "name": "a",
                "count": 1,
                "ratePerHour": 1,
                "teams": [{"namespace": "n", "queue": "q", "kinds": {"trian": 1}}],
            }
        ],
    }
    with pytest.raises(InputError, match="kind trian is not defined"):
        parse_twin(body(workload), "s.yaml")


def test_durations_in_a_scenario_are_go_durations() -> None:
    workload = {
        "kinds": {"nb": {"duration": "1h30m", "checkpointInterval": 600}},
        "manifests": ["jobs.yaml"],
    }
    kind = parse_twin(body(workload)).base.workload.kinds["nb"]
    assert (kind.duration, kind.checkpoint_interval) == (5400, 600)
    with pytest.raises(InputError, match=r"workload\.kinds\.nb\.duration"):
        parse_twin(body({**workload, "kinds": {"nb": {"duration": "soon"}}}), "s.yaml")


def test_no_workload_is_preempted_twice_at_one_instant(scenario: Twin) -> None:
    sim = simulator(scenario, "fair-preemption")
    cycle = sim.queueing.cycle
    evicted: list[tuple[float, str]] = []

    def recording(now: float, expected_end: ExpectedEnd | None = None) -> CycleResult:
        result = cycle(now, expected_end)
        evicted.extend((now, e.workload.key) for e in result.evicted)
        return result

    sim.queueing.cycle = recording  # type: ignore[method-assign]
    sim.run()
    assert evicted
    assert len(set(evicted)) == len(evicted)
