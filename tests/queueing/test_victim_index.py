"""The indexed victim candidates are exactly those of a scan over every running workload.

`VictimSearch._candidates` reads the running workloads of each queue by priority bucket; the
reference here is the search as it was before the index: every admitted workload of the queue
and of the cohort's borrowing queues, each checked against the policies one by one.
"""

from __future__ import annotations

from collections.abc import Mapping

from hypothesis import given, settings
from hypothesis import strategies as st

from gpuplane.objects.queues import (
    BorrowWithinCohort,
    Preemption,
    ReclaimWithinCohort,
    WithinClusterQueue,
)
from gpuplane.queueing.quota import FlavorResource
from gpuplane.queueing.running import Running, RunningIndex
from gpuplane.queueing.usage import Active
from gpuplane.queueing.workload import Workload

from queueing_helpers import FLAVOR, cq, engine, job

QUEUES = ("a", "b", "c", "solo")


def _within_allows(policy: WithinClusterQueue, w: Workload, v: Running) -> bool:
    p, vp = w.priority, v.workload.priority
    if policy is WithinClusterQueue.LOWER_PRIORITY:
        return vp < p
    if policy is WithinClusterQueue.LOWER_OR_NEWER_EQUAL_PRIORITY:
        return vp < p or (vp == p and v.workload.created > w.created)
    return False


def _reclaim_allows(policy: ReclaimWithinCohort, w: Workload, v: Running) -> bool:
    if policy is ReclaimWithinCohort.ANY:
        return True
    return policy is ReclaimWithinCohort.LOWER_PRIORITY and v.workload.priority < w.priority


def _borrow_allows(policy: Preemption, w: Workload, v: Running) -> bool:
    if policy.borrow_within_cohort is not BorrowWithinCohort.LOWER_PRIORITY:
        return False
    vp, threshold = v.workload.priority, policy.borrow_max_priority_threshold
    return vp < w.priority and (threshold is None or vp <= threshold)


def full_scan(
    q: object, w: Workload, queue: str, amounts: Mapping[FlavorResource, int]
) -> list[str]:
    """The candidates as the search found them before the index: every workload checked."""
    search = q.victims  # type: ignore[attr-defined]
    tree, usage = search.tree, search.usage
    node = tree.nodes[queue]
    policy = search.queues[queue].preemption
    by_queue: dict[str, list[str]] = {}
    for key, active in usage.active.items():
        by_queue.setdefault(active.queue, []).append(key)

    def running(key: str) -> Running:
        a = usage.active[key]
        return Running(a.workload, a.queue, a.admitted_at)

    out = [
        running(k)
        for k in sorted(by_queue.get(queue, ()))
        if policy.within_cluster_queue is not WithinClusterQueue.NEVER
        and _within_allows(policy.within_cluster_queue, w, running(k))
    ]
    cohort_wide = (
        policy.reclaim_within_cohort is not ReclaimWithinCohort.NEVER
        or policy.borrow_within_cohort is not BorrowWithinCohort.NEVER
        or search.fair_sharing
    )
    if node.parent is None or not cohort_wide:
        return [r.workload.key for r in out]
    after = {fr: node.usage.get(fr, 0) + a for fr, a in amounts.items()}
    for own in out:
        for fr, a in usage.active[own.workload.key].amounts.items():
            if fr in after:
                after[fr] -= a
    within_nominal = all(after[fr] <= node.subtree.get(fr, 0) for fr in after)
    share_after = tree.share(node, amounts) if search.fair_sharing else 0.0
    for other_name in sorted(search.members(queue)):
        if other_name == queue or not by_queue.get(other_name):
            continue
        other = tree.nodes[other_name]
        if not any(tree.borrowed(other, fr) > 0 for fr in other.usage):
            continue
        for key in sorted(by_queue[other_name]):
            r = running(key)
            held = usage.active[key].amounts
            fairer = search.fair_sharing and (
                tree.share(other, {fr: -a for fr, a in held.items()}) >= share_after
            )
            reclaims = within_nominal and _reclaim_allows(policy.reclaim_within_cohort, w, r)
            borrows = not within_nominal and _borrow_allows(policy, w, r)
            if reclaims or borrows or fairer:
                out.append(r)
    return [r.workload.key for r in out]


policies = st.builds(
    Preemption,
    st.sampled_from(list(WithinClusterQueue)),
    st.sampled_from(list(ReclaimWithinCohort)),
    st.sampled_from(list(BorrowWithinCohort)),
    st.one_of(st.none(), st.integers(0, 3)),
)
running_workloads = st.lists(
    st.tuples(
        st.sampled_from(QUEUES),
        st.integers(0, 3),  # priority
        st.integers(0, 5),  # created
        st.integers(1, 4),  # GPUs
        st.booleans(),  # finished again before the search
    ),
    max_size=30,
)
preemptors = st.tuples(
    st.sampled_from(QUEUES), st.integers(0, 4), st.integers(0, 5), st.integers(1, 6)
)


def amounts_of(w: Workload) -> dict[FlavorResource, int]:
    return {(FLAVOR, r): a for r, a in w.requests().items()}


@settings(max_examples=300, deadline=None)
@given(st.lists(policies, min_size=4, max_size=4), st.booleans(), running_workloads, preemptors)
def test_indexed_candidates_equal_full_scan(
    chosen: list[Preemption],
    fair: bool,
    workloads: list[tuple[str, int, int, int, bool]],
    preemptor: tuple[str, int, int, int],
) -> None:
    queues = [
        cq("a", 4, cohort="co", preemption=chosen[0]),
        cq("b", 2, cohort="co", borrowing=4, preemption=chosen[1], weight=2.0),
        cq("c", 2, cohort="co", lending=1, preemption=chosen[2]),
        cq("solo", 4, preemption=chosen[3]),
    ]
    q = engine(queues, fair_sharing=fair)
    # Admitted straight into the usage, quota or not: any state the index must follow.
    for i, (queue, priority, created, gpus, finished) in enumerate(workloads):
        w = job(f"w{i}", queue, gpus, priority=priority, created=float(created))
        q.admitted.add(Active(w, queue, amounts_of(w), {}, [], float(i), False))
        if finished and i % 2:
            q.admitted.remove(w.key)
    queue, priority, created, gpus = preemptor
    w = job("p", queue, gpus, priority=priority, created=float(created))
    amounts = amounts_of(w)
    got = [r.workload.key for r in q.victims._candidates(w, queue, amounts)]
    want = full_scan(q, w, queue, amounts)
    assert len(got) == len(set(got))
    assert sorted(got) == sorted(want)


def test_index_buckets_follow_adds_and_removes() -> None:
    index = RunningIndex(["q"])
    made = {p: job(f"w{p}", "q", priority=p) for p in (5, 1, 3, 1)}
    for w in made.values():
        index.add(Running(w, "q", 0.0))
    assert index.count("q") == 3
    assert [r.workload.priority for r in index.below("q", 4)] == [1, 3]
    assert [r.workload.key for r in index.at("q", 5)] == ["ns/w5"]
    index.remove(made[1], "q")
    assert [r.workload.priority for r in index.below("q", 10)] == [3, 5]
    assert list(index.at("q", 1)) == []
    assert index.count("q") == 2


def test_borrowing_preemptor_takes_up_to_the_threshold() -> None:
    policy = Preemption(
        borrow_within_cohort=BorrowWithinCohort.LOWER_PRIORITY, borrow_max_priority_threshold=1
    )
    queues = [
        cq("a", 1, cohort="co", preemption=policy),
        cq("b", 1, cohort="co"),
        cq("c", 6, cohort="co"),
    ]
    q = engine(queues)
    for p in (0, 1, 2):
        w = job(f"b{p}", "b", priority=p)
        q.admitted.add(Active(w, "b", amounts_of(w), {}, [], 0.0, False))
    w = job("p", "a", 2, priority=3)  # beyond a's quota: it would borrow
    got = sorted(r.workload.key for r in q.victims._candidates(w, "a", amounts_of(w)))
    assert got == ["ns/b0", "ns/b1"] == sorted(full_scan(q, w, "a", amounts_of(w)))
