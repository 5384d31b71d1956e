"""Remembered flavor assignments are the assignments computed afresh, as usage changes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from gpuplane.objects.queues import Preemption, ReclaimWithinCohort, WithinClusterQueue
from gpuplane.queueing.flavor_cache import FlavorCache
from gpuplane.queueing.flavors import workload_flavors
from gpuplane.queueing.quota import FlavorResource
from gpuplane.queueing.usage import Active
from gpuplane.queueing.workload import Workload

from queueing_helpers import FLAVOR, cq, engine, job

PREEMPT = Preemption(WithinClusterQueue.LOWER_PRIORITY, ReclaimWithinCohort.ANY)


def amounts_of(w: Workload) -> dict[FlavorResource, int]:
    return {(FLAVOR, r): a for r, a in w.requests().items()}


STEPS = st.lists(
    st.tuples(
        st.sampled_from(["ask", "ask", "admit", "remove"]),
        st.sampled_from("ab"),
        st.integers(1, 6),  # GPUs
        st.integers(1, 3),  # pods
        st.integers(0, 2),  # priority
    ),
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(STEPS)
def test_cached_answers_equal_fresh_ones(steps: list[tuple[str, str, int, int, int]]) -> None:
    q = engine([cq("a", 4, cohort="co", preemption=PREEMPT), cq("b", 4, cohort="co")])
    cache = FlavorCache(q.tree, q.flavors, q.victims.possibility)
    for n, (kind, queue, gpus, pods, priority) in enumerate(steps):
        w = job(f"w{n}", queue, gpus, pods, priority)
        if kind == "admit":
            q.admitted.add(Active(w, queue, amounts_of(w), {}, [], float(n), False))
        elif kind == "remove" and q.admitted.active:
            q.admitted.remove(sorted(q.admitted.active)[0])
        else:
            got = cache.get(q.queues[queue], w)
            want = workload_flavors(q.queues[queue], w, q.tree, q.flavors)
            assert got == want
