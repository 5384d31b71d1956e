"""The reflector against the fake API server: it converges to the server's state through faults."""

from __future__ import annotations

import asyncio
import logging
import random
from pathlib import Path
from typing import Any

import pytest
from fakeapi import FakeApiServer, Fault
from live_helpers import PODS, create, fake_http, node, pod, run
from reflector_helpers import MERGE, Mirror, Recorder, act, converged, reflect, run_step, wait_until

from gpuplane.live.kube import Kube, load_config
from gpuplane.live.reflector import NOT_SERVED_RECHECK_S, Backoff, Kind, Reflector

CHURN = [
    ("create", "p1", None),
    ("create", "p2", None),
    ("label", "p1", {"a": "1"}),
    ("delete", "p2", None),
    ("create", "p3", None),
    ("label", "p3", {"b": "2"}),
]


def test_list_then_watch_follows_every_change(fake: FakeApiServer, tmp_path: Path) -> None:
    http = fake_http(fake)
    create(http, PODS, pod("before"))

    async def scenario(reflector: Reflector, mirror: Mirror) -> None:
        assert mirror.state.keys() == {("default", "before")}
        await act(http, CHURN)
        await wait_until(converged(fake, mirror, reflector))

    reflector, mirror = reflect(fake, tmp_path, scenario)
    assert reflector.relists == 1 and reflector.delays == []
    assert [(e.type.value, e.key[1]) for e in mirror.events] == [
        ("ADDED", "before"),
        ("ADDED", "p1"),
        ("ADDED", "p2"),
        ("MODIFIED", "p1"),
        ("DELETED", "p2"),
        ("ADDED", "p3"),
        ("MODIFIED", "p3"),
    ]
    http.close()


def test_a_watch_cut_mid_stream_resumes_from_the_last_version(
    fake: FakeApiServer, tmp_path: Path
) -> None:
    http = fake_http(fake)
    fake.add_fault(Fault("watch", "close", plural="pods", after_events=2))

    async def scenario(reflector: Reflector, mirror: Mirror) -> None:
        await act(http, CHURN)
        await wait_until(converged(fake, mirror, reflector))

    sleep = Recorder()
    reflector, mirror = reflect(fake, tmp_path, scenario, sleep=sleep)
    assert reflector.relists == 1  # resumed, no relist needed
    assert len(mirror.events) == len(CHURN)
    assert sleep.delays == [Backoff().delay(0, random.Random(3))]
    http.close()


def test_410_on_rewatch_relists_and_delivers_only_the_differences(
    fake: FakeApiServer, tmp_path: Path
) -> None:
    http = fake_http(fake)
    for name in ("keep", "change", "remove"):
        create(http, PODS, pod(name))
    fake.add_fault(Fault("watch", "close", plural="pods", after_events=0))
    sleep = Recorder()

    def while_away() -> None:
        # Changes the reflector cannot see by watching: the history is compacted right after.
        assert (
            http.patch(
                f"{PODS}/change", json={"metadata": {"labels": {"v": "2"}}}, headers=MERGE
            ).status_code
            == 200
        )
        assert http.delete(f"{PODS}/remove").status_code == 200
        create(http, PODS, pod("new"))
        fake.compact()

    sleep.hooks.append(while_away)

    async def scenario(reflector: Reflector, mirror: Mirror) -> None:
        await wait_until(lambda: reflector.relists == 2)
        await wait_until(converged(fake, mirror, reflector))

    reflector, mirror = reflect(fake, tmp_path, scenario, sleep=sleep)
    assert reflector.relists == 2
    assert [(e.type.value, e.key[1]) for e in mirror.events[3:]] == [
        ("MODIFIED", "change"),
        ("ADDED", "new"),
        ("DELETED", "remove"),
    ]
    http.close()


def test_injected_410_relists_without_backing_off(fake: FakeApiServer, tmp_path: Path) -> None:
    http = fake_http(fake)
    fake.add_fault(Fault("watch", "gone", plural="pods", times=2))
    fake.add_fault(Fault("watch", "status", plural="pods", code=410))  # as an HTTP status

    async def scenario(reflector: Reflector, mirror: Mirror) -> None:
        await act(http, CHURN[:3])
        await wait_until(lambda: reflector.relists == 4)  # each 410 came and was handled
        await wait_until(converged(fake, mirror, reflector))

    sleep = Recorder()
    reflector, _ = reflect(fake, tmp_path, scenario, sleep=sleep)
    assert reflector.relists == 4 and sleep.delays == [] and fake.faults.pending() == 0
    http.close()


def test_429_and_500_back_off_honouring_retry_after(fake: FakeApiServer, tmp_path: Path) -> None:
    http = fake_http(fake)
    create(http, PODS, pod("a"))
    fake.add_fault(Fault("list", "status", plural="pods", code=429, retry_after=3))
    fake.add_fault(Fault("list", "status", plural="pods", code=500, retry_after=1))
    fake.add_fault(Fault("list", "status", plural="pods", code=500))
    fake.add_fault(Fault("watch", "status", plural="pods", code=429, retry_after=2))

    async def scenario(reflector: Reflector, mirror: Mirror) -> None:
        await act(http, CHURN[:2])
        await wait_until(converged(fake, mirror, reflector))

    sleep = Recorder()
    reflect(fake, tmp_path, scenario, sleep=sleep, seed=11)
    rng, backoff = random.Random(11), Backoff()
    expected = [
        backoff.delay(0, rng, 3.0),
        backoff.delay(1, rng, 1.0),
        backoff.delay(2, rng),
        backoff.delay(0, rng, 2.0),
    ]
    assert sleep.delays == expected
    assert sleep.delays[0] >= 3.0 and sleep.delays[1] >= 1.0 and sleep.delays[3] >= 2.0
    assert expected[2] >= backoff.base_s * backoff.factor**2  # grew exponentially
    assert fake.faults.pending() == 0
    http.close()


def test_a_kind_not_served_is_logged_once_and_looked_for_slowly(
    fake: FakeApiServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A PodGroup CRD that is not installed answers 404: one line says so, not one per retry."""
    kube = Kube.connect(load_config(fake.write_kubeconfig(tmp_path / "config")))
    sleep = Recorder()
    widgets = Kind("example.com", "v1", "widgets")

    async def main() -> None:
        reflector = Reflector(kube.http, widgets, Mirror(), random.Random(1), sleep=sleep)
        task = asyncio.create_task(reflector.run())
        await wait_until(lambda: len(sleep.delays) >= 4)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await kube.aclose()
        assert not reflector.synced.is_set()

    with caplog.at_level(logging.INFO, logger="gpuplane.live"):
        run(main(), timeout=10)
    assert set(sleep.delays) == {NOT_SERVED_RECHECK_S}
    said = [r.getMessage() for r in caplog.records if "widgets" in r.getMessage()]
    assert said == [
        "/apis/example.com/v1/widgets: not served by this API server (is its CRD installed?); "
        "looking again every 60 s"
    ]


def test_backoff_is_capped_and_jittered() -> None:
    backoff, rng = Backoff(base_s=1.0, cap_s=10.0, jitter=0.5), random.Random(0)
    delays = [backoff.delay(attempt, rng) for attempt in range(8)]
    assert all(1.0 * 2**a <= d <= 1.5 * 2**a for a, d in enumerate(delays[:3]))
    assert all(10.0 <= d <= 15.0 for d in delays[4:])
    assert len(set(delays[4:])) == 4  # jittered, so replicas do not retry in step
    assert backoff.delay(0, rng, retry_after=120.0) == 10.0  # the server's wait, within the cap
    assert 1.0 <= backoff.delay(0, rng, retry_after=0.5) <= 1.5  # never sooner than its own backoff


@pytest.mark.parametrize("compact", [False, True])
def test_a_server_restart_that_drops_watches(
    fake: FakeApiServer, tmp_path: Path, compact: bool
) -> None:
    http = fake_http(fake)
    sleep = Recorder()

    def while_down() -> None:
        for verb, name, arg in CHURN[3:]:
            run_step(http, verb, name, arg)
        if compact:
            fake.compact()  # the restarted server lost the history the reflector would resume from

    async def scenario(reflector: Reflector, mirror: Mirror) -> None:
        await act(http, CHURN[:3])
        await wait_until(converged(fake, mirror, reflector))
        sleep.hooks.append(while_down)
        fake.wait_for_watchers(1)
        fake.restart()
        await wait_until(lambda: not sleep.hooks)
        await wait_until(converged(fake, mirror, reflector))

    reflector, mirror = reflect(fake, tmp_path, scenario, sleep=sleep)
    assert len(sleep.delays) == 1
    assert reflector.relists == (2 if compact else 1)
    assert (
        sorted((e.type.value, e.key[1]) for e in mirror.events[3:])
        == [("ADDED", "p3"), ("DELETED", "p2")]
        if compact
        else [("ADDED", "p3"), ("DELETED", "p2"), ("MODIFIED", "p3")]
    )
    http.close()


def test_bookmarks_advance_the_version_without_events(fake: FakeApiServer, tmp_path: Path) -> None:
    http = fake_http(fake)

    async def scenario(reflector: Reflector, mirror: Mirror) -> None:
        await asyncio.to_thread(create, http, "/api/v1/nodes", node("n1"))
        latest = str(fake.store.rv)
        await wait_until(lambda: reflector.resource_version == latest)

    _, mirror = reflect(fake, tmp_path, scenario)
    assert mirror.events == []
    http.close()


def test_a_field_selector_reflector_sees_pods_leave_when_bound(
    fake: FakeApiServer, tmp_path: Path
) -> None:
    http = fake_http(fake)
    create(http, PODS, pod("mine"))
    create(http, PODS, pod("theirs", scheduler="default-scheduler"))
    pending = Kind("", "v1", "pods", field_selector="spec.schedulerName=gpuplane,spec.nodeName=")

    async def scenario(reflector: Reflector, mirror: Mirror) -> None:
        assert set(mirror.state) == {("default", "mine")}
        await act(http, [("create", "next", None), ("bind", "mine", "n1")])
        await wait_until(lambda: set(mirror.state) == {("default", "next")})

    _, mirror = reflect(fake, tmp_path, scenario, kind=pending)
    assert [(e.type.value, e.key[1]) for e in mirror.events] == [
        ("ADDED", "mine"),
        ("ADDED", "next"),
        ("DELETED", "mine"),
    ]
    http.close()


def test_a_seeded_fault_storm_loses_and_repeats_nothing(
    fake: FakeApiServer, tmp_path: Path
) -> None:
    http = fake_http(fake)
    rng = random.Random(2026)
    steps: list[tuple[str, str, Any]] = []
    alive: list[str] = []
    for i in range(150):
        roll = rng.random()
        if roll < 0.5 or not alive:
            steps.append(("create", f"p{i}", None))
            alive.append(f"p{i}")
        elif roll < 0.8:
            steps.append(("label", rng.choice(alive), {"step": str(i)}))
        else:
            steps.append(("delete", alive.pop(rng.randrange(len(alive))), None))
    faults = [
        Fault("watch", "close", plural="pods", after_events=7, times=3),
        Fault("watch", "gone", plural="pods"),
        Fault("watch", "status", plural="pods", code=500, retry_after=1),
        Fault("list", "status", plural="pods", code=429, retry_after=2),
        Fault("watch", "delay", plural="pods", delay=0.05),
    ]

    async def scenario(reflector: Reflector, mirror: Mirror) -> None:
        for start in range(0, len(steps), 30):
            for fault in faults:
                fake.add_fault(Fault(**{**fault.__dict__}))
            await act(http, steps[start : start + 30])
            if start == 60:
                fake.restart(compact=True)
        await wait_until(converged(fake, mirror, reflector), timeout=20)

    reflector, mirror = reflect(fake, tmp_path, scenario, sleep=Recorder())
    assert {action for (_, _, action) in fake.faults.fired} == {"close", "gone", "status", "delay"}
    assert reflector.relists >= 2
    assert {name for (_, name) in mirror.state} == set(alive)
    delivered = [(e.key, e.obj["metadata"]["resourceVersion"], e.type) for e in mirror.events]
    assert len(delivered) == len(set(delivered))
    http.close()
