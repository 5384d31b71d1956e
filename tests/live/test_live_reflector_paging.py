"""Paged lists (limit/continue) in the fake and the reflector, and reflectors sharing one client."""

import asyncio
import random
from pathlib import Path

import httpx2
import pytest
from fakeapi import FakeApiServer, Fault
from lightkube.resources.core_v1 import Pod
from live_helpers import PODS, create, fake_http, node, pod, run, wait_until
from reflector_helpers import Mirror, Recorder, converged, reflect, truth

from gpuplane.live.kube import Kube, load_config
from gpuplane.live.reflector import HandlerError, Kind, Reflector, WatchEvent


def test_the_fake_pages_a_consistent_snapshot(fake: FakeApiServer, http: httpx2.Client) -> None:
    for i in range(5):
        create(http, PODS, pod(f"p{i}"))
    first = http.get(PODS, params={"limit": "2"}).json()
    assert [p["metadata"]["name"] for p in first["items"]] == ["p0", "p1"]
    assert first["metadata"]["remainingItemCount"] == 3
    create(http, PODS, pod("p5"))  # after the snapshot: not in its later pages
    token = first["metadata"]["continue"]
    second = http.get(PODS, params={"limit": "2", "continue": token}).json()
    third = http.get(PODS, params={"limit": "2", "continue": second["metadata"]["continue"]}).json()
    assert [p["metadata"]["name"] for p in second["items"] + third["items"]] == ["p2", "p3", "p4"]
    assert "continue" not in third["metadata"]
    assert third["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]
    again = http.get(PODS, params={"limit": "2"}).json()["metadata"]["continue"]
    create(http, PODS, pod("p6"))
    fake.compact()  # the snapshot's version is now older than the history kept
    expired = http.get(PODS, params={"limit": "2", "continue": again})
    assert expired.status_code == 410 and expired.json()["reason"] == "Expired"


def test_the_reflector_lists_in_pages(fake: FakeApiServer, tmp_path: Path) -> None:
    http = fake_http(fake)
    for i in range(23):
        create(http, PODS, pod(f"p{i:02}"))

    async def scenario(reflector: Reflector, mirror: Mirror) -> None:
        await wait_until(converged(fake, mirror, reflector))

    kind = Kind("", "v1", "pods", namespace="default")
    _, mirror = reflect(fake, tmp_path, scenario, kind=kind, page_size=5)
    lists = [path for method, path in fake.requests if method == "GET" and "watch" not in path]
    assert len(lists) == 5 and all("limit=5" in path for path in lists)
    assert len(mirror.events) == 23 and mirror.state == truth(fake)
    http.close()


def test_an_expired_continuation_starts_the_list_over(fake: FakeApiServer, tmp_path: Path) -> None:
    http = fake_http(fake)
    for i in range(12):
        create(http, PODS, pod(f"p{i:02}"))
    fake.add_fault(Fault("list", "status", plural="pods", code=410, skip=1))  # page 2 has expired

    async def scenario(reflector: Reflector, mirror: Mirror) -> None:
        await wait_until(converged(fake, mirror, reflector))

    reflector, mirror = reflect(fake, tmp_path, scenario, page_size=5, sleep=(sleep := Recorder()))
    assert sleep.delays == [] and reflector.relists == 1
    lists = [path for method, path in fake.requests if method == "GET" and "watch" not in path]
    assert len(lists) == 2 + 3 and "continue" not in lists[2]  # 2 pages, then 3 from the start
    assert len(mirror.events) == 12
    http.close()


def test_lightkube_chunked_list_reads_every_page(fake: FakeApiServer, tmp_path: Path) -> None:
    with fake_http(fake) as http:
        for i in range(7):
            create(http, PODS, pod(f"p{i}"))
    kube = Kube.connect(load_config(fake.write_kubeconfig(tmp_path / "config")))

    async def names() -> list[str]:
        try:
            pods = [p async for p in kube.typed.list(Pod, namespace="default", chunk_size=3)]
            return [str(p.metadata.name) for p in pods if p.metadata]
        finally:
            await kube.aclose()

    assert run(names()) == [f"p{i}" for i in range(7)]


def test_reflectors_of_several_kinds_share_one_client(fake: FakeApiServer, tmp_path: Path) -> None:
    http = fake_http(fake)
    kube = Kube.connect(load_config(fake.write_kubeconfig(tmp_path / "config")))
    pods, nodes = Mirror(), Mirror()

    async def main() -> None:
        reflectors = [
            Reflector(kube.http, Kind("", "v1", "pods"), pods, random.Random(1), sleep=Recorder()),
            Reflector(
                kube.http, Kind("", "v1", "nodes"), nodes, random.Random(2), sleep=Recorder()
            ),
        ]
        tasks = [asyncio.create_task(r.run()) for r in reflectors]
        try:
            await asyncio.wait_for(asyncio.gather(*(r.synced.wait() for r in reflectors)), 5)

            def churn() -> None:
                for i in range(20):
                    create(http, PODS, pod(f"p{i}"))
                    create(http, "/api/v1/nodes", node(f"n{i}"))

            await asyncio.to_thread(churn)
            fake.restart()
            await wait_until(
                lambda: pods.state == truth(fake) and nodes.state == truth(fake, "nodes")
            )
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await kube.aclose()

    run(main())
    assert len(pods.events) == 20 and len(nodes.events) == 20
    http.close()


def test_a_failing_handler_stops_the_reflector_instead_of_being_retried(
    fake: FakeApiServer, tmp_path: Path
) -> None:
    with fake_http(fake) as http:
        create(http, PODS, pod("a"))
    kube = Kube.connect(load_config(fake.write_kubeconfig(tmp_path / "config")))

    async def refuse(event: WatchEvent) -> None:
        raise ValueError("consumer bug")

    async def main() -> None:
        reflector = Reflector(kube.http, Kind("", "v1", "pods"), refuse, random.Random(0))
        try:
            with pytest.raises(HandlerError, match="ADDED") as err:
                await asyncio.wait_for(reflector.run(), 5)
            assert isinstance(err.value.__cause__, ValueError) and reflector.delays == []
        finally:
            await kube.aclose()

    run(main())


def test_a_plain_list_answered_410_backs_off_rather_than_spinning(
    fake: FakeApiServer, tmp_path: Path
) -> None:
    fake.add_fault(Fault("list", "status", plural="pods", code=410, times=2))

    async def scenario(reflector: Reflector, mirror: Mirror) -> None:
        pass

    reflector, _ = reflect(fake, tmp_path, scenario, sleep=(sleep := Recorder()))
    assert len(sleep.delays) == 2 and reflector.relists == 1
