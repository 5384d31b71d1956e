"""Watches and injected faults of the fake API server."""

import threading
import time

import httpx2
import pytest
from fakeapi import FakeApiServer, Fault
from live_helpers import PODS, create, pod, watch_lines

BIND = {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "a"}, "target": {"name": "n1"}}


def test_watch_from_a_version_sends_only_later_changes_in_order(http: httpx2.Client) -> None:
    create(http, PODS, pod("old"))
    start = http.get(PODS).json()["metadata"]["resourceVersion"]
    create(http, PODS, pod("a"))
    http.patch(
        f"{PODS}/a",
        json={"metadata": {"labels": {"x": "1"}}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    http.delete(f"{PODS}/a")
    events = list(
        watch_lines(http, PODS, {"resourceVersion": start, "timeoutSeconds": "1"}, limit=3)
    )
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [
        ("ADDED", "a"),
        ("MODIFIED", "a"),
        ("DELETED", "a"),
    ]
    versions = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
    assert versions == sorted(versions) and versions[0] > int(start)


def test_watch_without_a_version_starts_with_the_current_state(http: httpx2.Client) -> None:
    create(http, PODS, pod("a"))
    create(http, "/api/v1/nodes", {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"}})
    events = list(watch_lines(http, PODS, {"timeoutSeconds": "1"}, limit=1))
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("ADDED", "a")]


def test_watch_streams_live_changes_and_ends_cleanly_at_its_timeout(
    fake: FakeApiServer, http: httpx2.Client
) -> None:
    start = http.get(PODS).json()["metadata"]["resourceVersion"]

    def create_late() -> None:
        with httpx2.Client(base_url=fake.url) as client:
            create(client, PODS, pod("late"))

    creator = threading.Timer(0.1, create_late)
    creator.start()
    began = time.monotonic()
    events = list(
        watch_lines(http, PODS, {"resourceVersion": start, "timeoutSeconds": "1"}, limit=10)
    )
    creator.join()
    assert [e["object"]["metadata"]["name"] for e in events] == ["late"]
    assert 0.9 < time.monotonic() - began < 3


def test_bookmarks_carry_the_latest_version_when_asked_for(http: httpx2.Client) -> None:
    create(http, PODS, pod("a"))
    create(http, "/api/v1/nodes", {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"}})
    latest = http.get("/api/v1/nodes").json()["metadata"]["resourceVersion"]
    params = {"resourceVersion": latest, "allowWatchBookmarks": "true", "timeoutSeconds": "1"}
    bookmark = next(watch_lines(http, PODS, params, limit=1))
    assert (
        bookmark["type"] == "BOOKMARK"
        and bookmark["object"]["metadata"]["resourceVersion"] == latest
    )
    assert bookmark["object"]["kind"] == "Pod"
    quiet = list(
        watch_lines(http, PODS, {"resourceVersion": latest, "timeoutSeconds": "1"}, limit=5)
    )
    assert quiet == []


def test_a_compacted_version_is_410_gone(fake: FakeApiServer, http: httpx2.Client) -> None:
    old = create(http, PODS, pod("a"))["metadata"]["resourceVersion"]
    create(http, PODS, pod("b"))
    fake.compact()
    events = list(watch_lines(http, PODS, {"resourceVersion": str(int(old) - 1)}, limit=5))
    assert [(e["type"], e["object"]["code"], e["object"]["reason"]) for e in events] == [
        ("ERROR", 410, "Expired")
    ]
    current = http.get(PODS).json()["metadata"]["resourceVersion"]
    assert (
        list(watch_lines(http, PODS, {"resourceVersion": current, "timeoutSeconds": "1"}, limit=5))
        == []
    )


def test_selector_watches_see_objects_enter_and_leave(http: httpx2.Client) -> None:
    start = http.get(PODS).json()["metadata"]["resourceVersion"]
    create(http, PODS, pod("a"))
    merge = {"Content-Type": "application/merge-patch+json"}
    http.patch(f"{PODS}/a", json={"metadata": {"labels": {"gpu": "yes"}}}, headers=merge)
    http.patch(f"{PODS}/a", json={"metadata": {"labels": {"gpu": "no"}}}, headers=merge)
    params = {"resourceVersion": start, "labelSelector": "gpu=yes", "timeoutSeconds": "5"}
    assert [e["type"] for e in watch_lines(http, PODS, params, limit=2)] == ["ADDED", "DELETED"]


def test_fault_close_cuts_a_watch_mid_stream(fake: FakeApiServer, http: httpx2.Client) -> None:
    start = http.get(PODS).json()["metadata"]["resourceVersion"]
    for name in "abc":
        create(http, PODS, pod(name))
    fake.add_fault(Fault("watch", "close", plural="pods", after_events=2))
    seen: list[str] = []
    with pytest.raises(httpx2.RemoteProtocolError):
        for event in watch_lines(http, PODS, {"resourceVersion": start}, limit=10):
            seen.append(event["object"]["metadata"]["name"])
    assert seen == ["a", "b"]
    assert fake.faults.fired == [("watch", "pods", "close")]


def test_fault_gone_answers_410_on_a_valid_version(
    fake: FakeApiServer, http: httpx2.Client
) -> None:
    fake.add_fault(Fault("watch", "gone"))
    current = http.get(PODS).json()["metadata"]["resourceVersion"]
    events = list(watch_lines(http, PODS, {"resourceVersion": current}, limit=5))
    assert events[0]["object"]["code"] == 410


@pytest.mark.parametrize(("code", "retry_after"), [(429, 2), (500, 1), (409, None)])
def test_fault_status_answers_with_code_and_retry_after(
    fake: FakeApiServer, http: httpx2.Client, code: int, retry_after: int | None
) -> None:
    create(http, PODS, pod("a"))
    fake.add_fault(Fault("bind", "status", code=code, retry_after=retry_after, times=2))
    for _ in range(2):
        reply = http.post(f"{PODS}/a/binding", json=BIND)
        assert reply.status_code == code and reply.json()["code"] == code
        assert reply.headers.get("Retry-After") == (
            None if retry_after is None else str(retry_after)
        )
    assert "nodeName" not in http.get(f"{PODS}/a").json()["spec"]
    assert http.post(f"{PODS}/a/binding", json=BIND).status_code == 201  # the fault is spent
    assert fake.faults.pending() == 0


def test_fault_delay_slows_one_reply(fake: FakeApiServer, http: httpx2.Client) -> None:
    fake.add_fault(Fault("list", "delay", plural="pods", delay=0.3))
    began = time.monotonic()
    assert http.get(PODS).status_code == 200
    assert time.monotonic() - began >= 0.3
    began = time.monotonic()
    http.get(PODS)
    assert time.monotonic() - began < 0.3


@pytest.mark.parametrize("compact", [False, True])
def test_restart_drops_every_open_watch(
    fake: FakeApiServer, http: httpx2.Client, compact: bool
) -> None:
    start = http.get(PODS).json()["metadata"]["resourceVersion"]
    outcome: list[str] = []

    def watch() -> None:
        with httpx2.Client(base_url=fake.url, timeout=5.0) as client:
            try:
                list(watch_lines(client, PODS, {"resourceVersion": start}, limit=10))
                outcome.append("clean end")
            except httpx2.RemoteProtocolError:
                outcome.append("cut")

    watchers = [threading.Thread(target=watch) for _ in range(3)]
    for thread in watchers:
        thread.start()
    fake.wait_for_watchers(3)
    create(http, PODS, pod("a"))
    fake.restart(compact=compact)
    for thread in watchers:
        thread.join(timeout=5)
    assert outcome == ["cut"] * 3
    again = list(
        watch_lines(http, PODS, {"resourceVersion": start, "timeoutSeconds": "5"}, limit=1)
    )
    if compact:
        assert [e["type"] for e in again] == ["ERROR"]
    else:
        assert [e["object"]["metadata"]["name"] for e in again] == ["a"]


def test_dry_run_is_refused_rather_than_persisted(http: httpx2.Client) -> None:
    reply = http.post(PODS, params={"dryRun": "All"}, json=pod("a"))
    assert reply.status_code == 400 and "dryRun" in reply.json()["message"]
    assert http.get(f"{PODS}/a").status_code == 404
