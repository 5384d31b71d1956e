"""Fair shares by weighted water-filling, and Jain's index, on values worked out by hand."""

from __future__ import annotations

import pytest

from gpuplane.sim.core.fairness import jain, water_fill


def test_every_queue_gets_its_nominal_quota_up_to_its_demand() -> None:
    assert water_fill([5, 30, 0], [10, 10, 10], [1, 1, 1], 30) == [5, 25, 0]


def test_what_is_left_goes_by_weight_to_who_wants_more() -> None:
    # Guaranteed 4 + 4 + 2; 20 left, split 1:3 between the two that want more.
    assert water_fill([100, 100, 2], [4, 4, 4], [1, 3, 1], 30) == [9, 19, 2]


def test_a_queue_that_wants_little_leaves_the_rest_to_the_others() -> None:
    # 19 left after the quotas in use (the idle queue's is free too); the second wants only
    # 2 more, the first takes the other 17.
    assert water_fill([100, 7, 0], [6, 5, 1], [1, 1, 1], 30) == [23, 7, 0]


def test_nominal_quotas_beyond_capacity_are_still_guaranteed() -> None:
    assert water_fill([10, 10], [10, 10], [1, 1], 15) == [10, 10]


def test_shares_never_exceed_demand_or_capacity() -> None:
    shares = water_fill([3, 50, 50, 8], [2, 2, 2, 2], [1, 2, 1, 5], 40)
    assert sum(shares) == pytest.approx(40)
    assert shares[0] == 3 and shares[3] == 8
    assert shares[1] == pytest.approx(2 * shares[2] - 2)  # equal level per weight above nominal


def test_jain_index() -> None:
    assert jain([1, 1, 1, 1]) == 1.0
    assert jain([1, 0, 0, 0]) == 0.25
    assert jain([1, 2]) == pytest.approx(9 / 10)
    assert jain([]) == 1.0
