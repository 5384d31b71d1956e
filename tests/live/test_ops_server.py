"""gpuplane.live.ops: the probes and /metrics over real HTTP on loopback."""

import asyncio

import httpx2
import pytest
from live_helpers import run
from prometheus_client import CollectorRegistry, Counter

from gpuplane.live.ops import OpsServer, parse_address


async def get(ops: OpsServer, path: str, method: str = "GET") -> httpx2.Response:
    async with httpx2.AsyncClient(base_url=ops.url, timeout=5.0) as http:
        return await http.request(method, path)


def test_readyz_flips_from_503_to_200_when_the_caches_sync() -> None:
    synced: list[str] = []

    def ready() -> str | None:
        return None if synced else "caches not synced: pods, nodes"

    async def scenario() -> None:
        async with OpsServer(CollectorRegistry(), ready) as ops:
            before = await get(ops, "/readyz")
            assert before.status_code == 503
            assert before.text == "not ready: caches not synced: pods, nodes\n"
            live = await get(ops, "/livez")
            assert (live.status_code, live.text) == (200, "ok")  # alive while not ready
            synced.append("all")
            after = await get(ops, "/readyz?verbose")
            assert (after.status_code, after.text) == (200, "ok")

    run(scenario())


def test_healthz_names_the_failing_check_and_livez_does_not_run_it() -> None:
    stale: list[bool] = []

    def leader_election() -> str | None:
        return "failed election to renew leadership on lease ns/x" if stale else None

    async def scenario() -> None:
        checks = {"leaderElection": leader_election}
        ops = OpsServer(CollectorRegistry(), lambda: None, health_checks=checks)
        async with ops:
            assert (await get(ops, "/healthz")).text == "ok"
            stale.append(True)
            reply = await get(ops, "/healthz")
            assert reply.status_code == 500
            assert reply.text.startswith("[-]leaderElection failed: failed election to renew")
            assert (await get(ops, "/livez")).status_code == 200

    run(scenario())


def test_a_check_that_raises_fails_with_its_error() -> None:
    def broken() -> str | None:
        raise KeyError("informer")

    async def scenario() -> None:
        async with OpsServer(CollectorRegistry(), broken) as ops:
            reply = await get(ops, "/readyz")
            assert reply.status_code == 503 and "KeyError" in reply.text
            assert (await get(ops, "/livez")).status_code == 200  # the server kept serving

    run(scenario())


def test_a_boolean_check_works_as_is() -> None:
    synced = [False]

    async def scenario() -> None:
        async with OpsServer(CollectorRegistry(), lambda: synced[0]) as ops:
            reply = await get(ops, "/readyz")
            assert (reply.status_code, reply.text) == (503, "not ready: check failed\n")
            synced[0] = True
            assert (await get(ops, "/readyz")).status_code == 200

    run(scenario())


def test_metrics_head_unknown_paths_and_methods() -> None:
    registry = CollectorRegistry()
    Counter("gpuplane_test_things", "Things.", registry=registry).inc(3)

    async def scenario() -> None:
        async with OpsServer(registry, lambda: None) as ops:
            metrics = await get(ops, "/metrics")
            assert metrics.status_code == 200
            assert "gpuplane_test_things_total 3.0" in metrics.text
            head = await get(ops, "/metrics", "HEAD")
            assert head.status_code == 200 and head.content == b""
            assert int(head.headers["content-length"]) == len(metrics.content)
            assert (await get(ops, "/debug")).status_code == 404
            assert (await get(ops, "/metrics", "POST")).status_code == 405

    run(scenario())


def test_a_garbled_or_silent_client_does_not_stop_the_server() -> None:
    async def scenario() -> None:
        async with OpsServer(CollectorRegistry(), lambda: None) as ops:
            reader, writer = await asyncio.open_connection("127.0.0.1", ops.port)
            writer.write(b"NONSENSE\r\n\r\n")
            await writer.drain()
            assert (await reader.read()).startswith(b"HTTP/1.1 400 Bad Request")
            writer.close()
            _, silent = await asyncio.open_connection("127.0.0.1", ops.port)  # sends nothing
            assert (await get(ops, "/livez")).status_code == 200
            silent.close()

    run(scenario())


def test_close_frees_the_port() -> None:
    async def scenario() -> None:
        ops = OpsServer(CollectorRegistry(), lambda: None)
        await ops.start()
        port = ops.port
        await ops.close()
        with pytest.raises(RuntimeError, match="not started"):
            _ = ops.port
        again = OpsServer(CollectorRegistry(), lambda: None, port=port)
        async with again:
            assert (await get(again, "/livez")).status_code == 200

    run(scenario())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (":10259", ("0.0.0.0", 10259)),
        ("127.0.0.1:8080", ("127.0.0.1", 8080)),
        ("[::1]:9090", ("::1", 9090)),
        ("localhost:0", ("localhost", 0)),
    ],
)
def test_parse_address(text: str, expected: tuple[str, int]) -> None:
    assert parse_address(text) == expected


@pytest.mark.parametrize("text", ["8080", "host:", "host:http", ":70000"])
def test_parse_address_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="HOST:PORT"):
        parse_address(text)
