"""gpuplane.live.leader against the fake API: one leader at a time, takeover only after expiry."""

import asyncio
import random
import re

import pytest
from fakeapi import FakeApiServer, Fault
from leader_helpers import (
    FAST,
    LEASE,
    Barrier,
    Frozen,
    Monitor,
    candidate,
    client,
    stop,
)
from live_helpers import create, fake_http, run, wait_until

from gpuplane.live.leader import (
    ElectionCallbacks,
    ElectionTimings,
    LeaderElector,
    micro_time,
    new_identity,
)

# How late a takeover may come after the lease expires: one jittered retry plus loop slack.
LATE = FAST.retry_period_s * 2.2 + 0.25


def test_default_timings_are_client_gos() -> None:
    # component-base RecommendedDefaultLeaderElectionConfiguration: 15 s, 10 s, 2 s.
    timings = ElectionTimings()
    assert (timings.lease_duration_s, timings.renew_deadline_s, timings.retry_period_s) == (
        15.0,
        10.0,
        2.0,
    )
    with pytest.raises(ValueError, match="greater than the renew deadline"):
        ElectionTimings(lease_duration_s=10.0, renew_deadline_s=10.0)
    with pytest.raises(ValueError, match=r"retry period \* 1.2"):
        ElectionTimings(renew_deadline_s=2.4, retry_period_s=2.0)


def test_identity_is_hostname_and_a_random_uuid() -> None:
    first = new_identity(random.Random(1), "node-a")
    uuid4 = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
    assert re.fullmatch("node-a_" + uuid4, first)
    assert new_identity(random.Random(1), "node-a") == first
    assert new_identity(random.Random(2), "node-a") != first


def test_one_leads_the_other_follows_and_reports_it(fake: FakeApiServer) -> None:
    async def scenario() -> None:
        async with client(fake) as http:
            a, b = candidate(http, "a"), candidate(http, "b")
            async with Monitor([a, b]) as monitor:
                a.start()
                await wait_until(a.elector.is_leader, timeout=10.0)
                b.start()
                await wait_until(lambda: b.leaders == ["a"], timeout=10.0)
                await asyncio.sleep(4 * FAST.lease_duration_s)  # many renewals, no takeover
                assert a.elector.is_leader() and not b.elector.is_leader()
                assert b.elector.leader() == "a" and b.started == []
                await stop(a, b)
            assert monitor.overlaps == [] and monitor.samples > 100

    run(scenario())
    spec = fake_http(fake).get(LEASE).json()["spec"]
    assert spec["holderIdentity"] == "a"
    assert spec["leaseDurationSeconds"] == 1  # whole seconds, at least 1 (API validation)
    assert spec["leaseTransitions"] == 0  # creating the lease is not a transition
    assert spec["renewTime"] > spec["acquireTime"]  # renewals keep acquireTime
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", spec["renewTime"])


def test_a_killed_leader_is_replaced_only_after_the_lease_duration(fake: FakeApiServer) -> None:
    async def scenario() -> None:
        async with client(fake) as http:
            a, b = candidate(http, "a"), candidate(http, "b")
            async with Monitor([a, b]) as monitor:
                a.start()
                await wait_until(a.elector.is_leader, timeout=10.0)
                b.start()
                await wait_until(lambda: b.leaders == ["a"], timeout=10.0)
                await asyncio.sleep(0.3)
                assert a.task is not None
                a.task.cancel()  # killed: no release
                await asyncio.gather(a.task, return_exceptions=True)
                last_renewal = a.elector.renewed_at
                assert last_renewal is not None
                await wait_until(lambda: b.started != [], timeout=10.0)
                await stop(b)
            assert monitor.overlaps == []
            # b saw the last renewal no earlier than it was sent: silence >= LeaseDuration.
            gap = b.started[0] - last_renewal
            assert FAST.lease_duration_s <= gap <= FAST.lease_duration_s + LATE
            assert b.leaders == ["a", "b"]

    run(scenario())
    spec = fake_http(fake).get(LEASE).json()["spec"]
    assert (spec["holderIdentity"], spec["leaseTransitions"]) == ("b", 1)


def test_a_hung_leader_stops_believing_before_the_follower_takes_over(
    fake: FakeApiServer,
) -> None:
    async def scenario() -> None:
        async with client(fake) as http:
            frozen = Frozen()
            a, b = candidate(http, "a", sleep=frozen), candidate(http, "b")
            async with Monitor([a, b], period=0.002) as monitor:
                a.start()
                await wait_until(a.elector.is_leader, timeout=10.0)
                b.start()
                await asyncio.sleep(0.3)
                frozen.frozen = True  # a's task stays alive but renews nothing more
                await wait_until(lambda: b.started != [], timeout=10.0)
                last_renewal = a.elector.renewed_at
                assert last_renewal is not None
                # a believed itself leader until exactly RenewDeadline after its last renewal.
                assert not a.elector.is_leader() and a.stopped == []
                assert b.started[0] - last_renewal >= FAST.lease_duration_s
                # The healthz watchdog reports the hung leader once its lease is stale.
                assert a.elector.check(tolerance_s=0.0) is not None
                await stop(a, b)
            assert monitor.overlaps == [] and monitor.samples > 100

    run(scenario())


def test_a_conflict_on_create_leaves_exactly_one_leader(fake: FakeApiServer) -> None:
    # Both creates are held until both are issued: both saw 404, and one of them gets 409.
    codes: list[int] = []

    async def scenario() -> None:
        async with client(fake, codes, Barrier("POST")) as http:
            a, b = candidate(http, "a"), candidate(http, "b")
            async with Monitor([a, b]) as monitor:
                a.start(), b.start()
                await wait_until(lambda: a.elector.is_leader() or b.elector.is_leader(), 2.0)
                await asyncio.sleep(2 * FAST.lease_duration_s)
                assert a.elector.is_leader() != b.elector.is_leader()
                await stop(a, b)
            assert monitor.overlaps == []

    run(scenario())
    assert codes[:2] == [404, 404] and sorted(codes[2:4]) == [201, 409]


def test_a_conflict_on_taking_an_expired_lease_leaves_exactly_one_leader(
    fake: FakeApiServer,
) -> None:
    when = "2026-01-01T00:00:00.000000Z"
    ghost = {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": "gpuplane-scheduler"},
        "spec": {
            "holderIdentity": "ghost",
            "leaseDurationSeconds": 1,
            "acquireTime": when,
            "renewTime": when,
            "leaseTransitions": 4,
        },
    }
    create(fake_http(fake), "/apis/coordination.k8s.io/v1/namespaces/default/leases", ghost)
    # Both takeovers are held until both are issued: both read the ghost's version.
    codes: list[int] = []

    async def scenario() -> None:
        async with client(fake, codes, Barrier("PUT")) as http:
            a, b = candidate(http, "a"), candidate(http, "b")
            async with Monitor([a, b]) as monitor:
                a.start(), b.start()
                await wait_until(lambda: a.started != [] or b.started != [], 3.0)
                await asyncio.sleep(FAST.lease_duration_s)
                assert a.elector.is_leader() != b.elector.is_leader()
                await stop(a, b)
            assert monitor.overlaps == []

    run(scenario())
    assert codes.count(409) == 1  # the race did happen, and the loser kept following
    spec = fake_http(fake).get(LEASE).json()["spec"]
    assert spec["holderIdentity"] in ("a", "b") and spec["leaseTransitions"] == 5


def test_release_on_cancel_hands_over_at_once(fake: FakeApiServer) -> None:
    slow = ElectionTimings(lease_duration_s=3.0, renew_deadline_s=1.0, retry_period_s=0.1)

    async def scenario() -> None:
        async with client(fake) as http:
            a = candidate(http, "a", slow, release_on_cancel=True)
            b = candidate(http, "b", slow)
            async with Monitor([a, b]) as monitor:
                a.start()
                await wait_until(a.elector.is_leader, timeout=10.0)
                b.start()
                await wait_until(lambda: b.leaders == ["a"], timeout=10.0)
                loop = asyncio.get_running_loop()
                cancelled = loop.time()
                assert a.task is not None
                a.task.cancel()
                await asyncio.gather(a.task, return_exceptions=True)
                assert a.stopped != [] and not a.elector.is_leader()
                await wait_until(lambda: b.started != [], timeout=10.0)
                assert b.started[0] - cancelled < 0.5 < slow.lease_duration_s
                await stop(b)
            assert monitor.overlaps == []
            assert b.leaders == ["a", "b"]

    run(scenario())
    spec = fake_http(fake).get(LEASE).json()["spec"]
    assert (spec["holderIdentity"], spec["leaseTransitions"]) == ("b", 1)


def test_release_after_a_conflict_reads_the_lease_again_and_still_hands_over(
    fake: FakeApiServer,
) -> None:
    """A renewal cancelled in flight may land after all, leaving the release's version stale:
    its 409 is answered by reading the lease again, not by leaving the lease held."""
    slow = ElectionTimings(lease_duration_s=30.0, renew_deadline_s=10.0, retry_period_s=0.1)

    async def scenario() -> None:
        async with client(fake) as http:
            a = candidate(http, "a", slow, release_on_cancel=True)
            a.start()
            await wait_until(a.elector.is_leader, timeout=10.0)
            fake.add_fault(Fault("update", "status", plural="leases", code=409))
            assert a.task is not None
            a.task.cancel()
            await asyncio.gather(a.task, return_exceptions=True)
            assert fake.faults.pending() == 0  # the conflict did happen

    run(scenario())
    spec = fake_http(fake).get(LEASE).json()["spec"]
    assert spec.get("holderIdentity", "") == ""


def test_a_leader_that_cannot_reach_the_api_steps_down_by_the_renew_deadline(
    fake: FakeApiServer,
) -> None:
    async def scenario() -> None:
        async with client(fake) as http:
            a = candidate(http, "a")
            async with Monitor([a]) as monitor:
                a.start()
                await wait_until(a.elector.is_leader, timeout=10.0)
                down = Fault(verb="*", plural="leases", action="status", code=500, times=10_000)
                fake.add_fault(down)
                assert a.task is not None
                await asyncio.wait_for(a.task, timeout=10.0)  # run() returns: leadership lost
                last_renewal = a.elector.renewed_at
                assert last_renewal is not None
                assert not a.elector.is_leader()
                stepped_down = a.stopped[0] - last_renewal
                # Never before the deadline; after it only by the loop's lateness (generous: a
                # loaded CI machine). Safety does not hang on this: is_leader() turns false at
                # the deadline by its own clock, which the monitor checks throughout.
                assert FAST.renew_deadline_s - 0.01 <= stepped_down <= FAST.renew_deadline_s + 1.0
            assert monitor.samples > 10

    run(scenario())
    assert any(action == "status" for _, _, action in fake.faults.fired)


def test_micro_time_is_the_api_servers_format() -> None:
    from datetime import UTC, datetime, timedelta, timezone

    moment = datetime(2026, 11, 29, 22, 7, 1, 42, tzinfo=timezone(timedelta(hours=2)))
    assert micro_time(moment) == "2026-11-29T20:07:01.000042Z"
    assert micro_time(datetime(2026, 1, 1, tzinfo=UTC)) == "2026-01-01T00:00:00.000000Z"


def test_the_leading_work_runs_as_a_task_cancelled_on_stepping_down(fake: FakeApiServer) -> None:
    events: list[str] = []

    async def lead() -> None:
        events.append("leading")
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            events.append("work cancelled")
            raise

    async def scenario() -> None:
        async with client(fake) as http:
            loop = asyncio.get_running_loop()
            elector = LeaderElector(
                http=http,
                namespace="default",
                name="gpuplane-scheduler",
                identity="a",
                timings=FAST,
                callbacks=ElectionCallbacks(
                    on_started_leading=lead,
                    on_stopped_leading=lambda: events.append("stopped"),
                ),
                clock=loop.time,
            )
            task = asyncio.create_task(elector.run())
            await wait_until(lambda: events == ["leading"], timeout=10.0)
            fake.add_fault(Fault(verb="*", plural="leases", action="status", times=10_000))
            await asyncio.wait_for(task, timeout=10.0)
            # The work is stopped before anyone is told, and before the lease can be taken.
            assert events == ["leading", "work cancelled", "stopped"]

    run(scenario())


def test_a_failing_start_callback_leaves_no_leader_behind(fake: FakeApiServer) -> None:
    def explode() -> None:
        raise RuntimeError("cannot start")

    async def scenario() -> None:
        async with client(fake) as http:
            stopped: list[bool] = []
            elector = LeaderElector(
                http=http,
                namespace="default",
                name="gpuplane-scheduler",
                identity="a",
                timings=FAST,
                callbacks=ElectionCallbacks(
                    on_started_leading=explode, on_stopped_leading=lambda: stopped.append(True)
                ),
            )
            with pytest.raises(RuntimeError, match="cannot start"):
                await elector.run()
            assert not elector.is_leader() and stopped == [True]

    run(scenario())
