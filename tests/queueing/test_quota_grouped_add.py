"""Removing victims' quota one add per queue leaves the tree as one add per victim does.

The victim search (`preemption._by_queue`) sums the victims' usage per queue before taking it
out of the QuotaTree and putting it back; that is sound only if `QuotaTree.add` composes:
what a node passes to its parent (usage beyond its guaranteed part) must telescope.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from gpuplane.catalog.resources import GPU
from gpuplane.queueing.quota import FlavorResource, QuotaTree

from queueing_helpers import FLAVOR, cq

QUEUES = "abc"
LIMITS = st.one_of(st.none(), st.integers(0, 12))


def tree(spec: list[tuple[int, int | None, int | None]]) -> QuotaTree:
    return QuotaTree(
        [
            cq(name, gpus, cohort="co", borrowing=borrow, lending=lend)
            for name, (gpus, borrow, lend) in zip(QUEUES, spec, strict=True)
        ]
    )


def state(t: QuotaTree) -> list[object]:
    fr: FlavorResource = (FLAVOR, GPU)
    nodes = [*t.nodes.values(), *t.cohorts.values()]
    return [(list(n.usage.items()), t.available(n, fr), t.borrowed(n, fr)) for n in nodes]


@settings(max_examples=200, deadline=None)
@given(
    spec=st.lists(st.tuples(st.integers(0, 12), LIMITS, LIMITS), min_size=3, max_size=3),
    held=st.lists(st.tuples(st.sampled_from(QUEUES), st.integers(1, 8_000)), max_size=12),
    victims=st.lists(st.integers(0, 100), max_size=12),
)
def test_one_add_per_queue_equals_one_per_victim(spec, held, victims):
    fr: FlavorResource = (FLAVOR, GPU)
    one, grouped = tree(spec), tree(spec)
    for t in (one, grouped):
        for queue, milli in held:
            t.add(queue, {fr: milli})
    chosen = sorted({v % len(held) for v in victims}) if held else []
    before = state(one)
    for i in chosen:
        one.add(held[i][0], {fr: held[i][1]}, sign=-1)
    sums: dict[str, int] = {}
    for i in chosen:
        sums[held[i][0]] = sums.get(held[i][0], 0) + held[i][1]
    for queue, milli in sums.items():
        grouped.add(queue, {fr: milli}, sign=-1)
    assert state(one) == state(grouped)
    for i in chosen:
        one.add(held[i][0], {fr: held[i][1]})
    for queue, milli in sums.items():
        grouped.add(queue, {fr: milli})
    assert state(one) == state(grouped) == before
