"""A real Prometheus (Debian's package) on loopback scrapes the exporter fed by the fake backend.

One GPU is driven hot and one pod left idle on its GPU; Prometheus's HTTP API must then show
the matching alerts firing (and not for the cool GPU or the busy pod), and every PromQL
expression of the Grafana dashboard must evaluate without error against the scraped data,
which includes the control plane's (a queueing engine's metrics, served the same way).

The rules are deploy/prometheus/rules.yaml with every `for:` set to 0s (a test-only copy
written here, same expressions): waiting two real hours for GPUUtilizationLow is not a test.
The `for:` durations themselves are covered by promtool (rules_test.yaml).
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import generate_latest

from gpuplane.node import FakeBackend
from gpuplane.node.backend import ProcessSample
from gpuplane.placement.fragmentation import FragmentationMeter, shape_of, target_workload
from gpuplane.telemetry import GpuExporter, ProcessResolver
from gpuplane.telemetry.control_plane import ControlPlaneMetrics
from gpuplane.telemetry.podresources import PodResources
from gpuplane.telemetry.server import MetricsServer, serve_exporter

from fake_podresources import FakePodResources
from prometheus_helpers import DEPLOY, tool
from queueing_helpers import cq, engine, job
from telemetry_helpers import run_in_container

NODE = "node: gpu-node-1\ngpus: [{model: NVIDIA-A100-SXM4-80GB, count: 3}]\n"
DEADLINE = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def api(base: str, path: str, **params: str) -> Any:
    url = f"{base}{path}?{urllib.parse.urlencode(params)}" if params else f"{base}{path}"
    with urllib.request.urlopen(url, timeout=5) as reply:
        return json.loads(reply.read())


@pytest.fixture
def exporter(tmp_path: Path) -> Iterator[tuple[MetricsServer, FakeBackend]]:
    backend = FakeBackend(text=NODE)
    gpus = backend.inventory().gpus
    proc, logs = tmp_path / "proc", tmp_path / "log"
    with FakePodResources(tmp_path / "pod-resources.sock") as kubelet:
        kubelet.assign("ml", "trainer", "main", "nvidia.com/gpu", [gpus[0].uuid])
        kubelet.assign("ml", "notebook", "main", "nvidia.com/gpu", [gpus[1].uuid])
        run_in_container(proc, logs, 100, "ml", "trainer", "main", 1)
        backend.telemetry.run(gpus[0].uuid, [ProcessSample(100, 76_000, sm_util=99)])
        backend.telemetry.set(gpus[0].uuid, gpu_temp_c=92)  # driven hot
        client = PodResources(kubelet.socket)
        gpu_exporter = GpuExporter(
            backend,
            hostname="gpu-node-1",
            pod_resources=client,
            resolver=ProcessResolver(proc, logs),
        )
        server = serve_exporter(gpu_exporter, "127.0.0.1", 0)
        try:
            yield server, backend
        finally:
            server.stop()
            client.close()


@pytest.fixture
def control_plane() -> Iterator[MetricsServer]:
    """The brain's metrics: one queue with a job admitted and one pending, and FGD's meter."""
    q = engine([cq("team-a", 2)], nodes=1)
    shapes = [shape_of(job("t", "team-a", gpus_per_pod=2).pod_sets[0].template)]
    metrics = ControlPlaneMetrics(q, FragmentationMeter(target_workload(shapes), q.state))
    for name in ("first", "second"):
        q.submit(job(name, "team-a", gpus_per_pod=2, created=0.0), now=0.0)
    metrics.observe(q.cycle(now=12.0))
    server = MetricsServer(lambda: generate_latest(metrics.registry).decode(), "127.0.0.1", 0)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def prometheus(
    tmp_path: Path, exporter: tuple[MetricsServer, FakeBackend], control_plane: MetricsServer
) -> Iterator[str]:
    binary = tool("prometheus")
    server, _ = exporter
    rules = yaml.safe_load((DEPLOY / "prometheus" / "rules.yaml").read_text(encoding="utf-8"))
    for group in rules["groups"]:
        group["interval"] = "1s"
        for rule in group["rules"]:
            rule["for"] = "0s"
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(rules), encoding="utf-8")
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(tmp_path / "rules.yaml")],
        "scrape_configs": [
            {
                "job_name": "gpuplane-node-agent",
                "static_configs": [{"targets": [f"127.0.0.1:{server.port}"]}],
            },
            {
                "job_name": "gpuplane-scheduler",
                "static_configs": [{"targets": [f"127.0.0.1:{control_plane.port}"]}],
            },
        ],
    }
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    port = free_port()
    log = (tmp_path / "prometheus.log").open("w")
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + DEADLINE
        while True:
            try:
                urllib.request.urlopen(f"{base}/-/ready", timeout=1).read()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    output = (tmp_path / "prometheus.log").read_text()
                    pytest.fail(f"prometheus did not start: {output}")
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def firing(base: str) -> list[dict[str, str]]:
    alerts = api(base, "/api/v1/alerts")["data"]["alerts"]
    return [a["labels"] for a in alerts if a["state"] == "firing"]


def wait_for(base: str, predicate: Any, what: str) -> list[dict[str, str]]:
    deadline = time.monotonic() + DEADLINE
    while True:
        labels = firing(base)
        if predicate(labels):
            return labels
        if time.monotonic() > deadline:
            pytest.fail(f"{what} not seen in {DEADLINE}s; firing: {labels}")
        time.sleep(0.5)


def test_alerts_fire_and_the_dashboard_evaluates(
    prometheus: str, exporter: tuple[MetricsServer, FakeBackend]
) -> None:
    _, backend = exporter
    hot, idle_gpu, _ = (g.uuid for g in backend.inventory().gpus)

    def seen(labels: list[dict[str, str]]) -> bool:
        names = {(a["alertname"], a.get("UUID"), a.get("pod")) for a in labels}
        return {
            ("GPUTemperatureHigh", hot, "trainer"),
            ("GPUMemoryHigh", hot, "trainer"),
            ("GPUAllocatedButIdle", idle_gpu, "notebook"),
        } <= names

    labels = wait_for(prometheus, seen, "the hot GPU's and the idle pod's alerts")
    idle = [a for a in labels if a["alertname"] == "GPUAllocatedButIdle"]
    assert [(a["namespace"], a["pod"], a["container"]) for a in idle] == [
        ("ml", "notebook", "main")
    ]
    hot_alerts = [a for a in labels if a["alertname"] == "GPUTemperatureHigh"]
    assert [a["UUID"] for a in hot_alerts] == [hot]
    assert not [a for a in labels if a["alertname"] == "GPUXidCritical"]

    # An XID on the idle GPU shows up through the same path.
    backend.inject(1, xid=79)
    wait_for(
        prometheus,
        lambda ls: any(a["alertname"] == "GPUXidCritical" and a["UUID"] == idle_gpu for a in ls),
        "GPUXidCritical for XID 79",
    )

    # Rates need two scrapes of every target in their window: wait for three of each.
    def scraped_three_times() -> bool:
        up = api(prometheus, "/api/v1/query", query="count_over_time(up[1m])")["data"]["result"]
        return len(up) == 2 and all(float(r["value"][1]) >= 3 for r in up)

    deadline = time.monotonic() + DEADLINE
    while not scraped_three_times():
        assert time.monotonic() < deadline, "Prometheus did not scrape both targets 3 times"
        time.sleep(0.5)

    dashboard = json.loads((DEPLOY / "grafana" / "dashboard.json").read_text(encoding="utf-8"))
    empty = []
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            expr = target["expr"].replace("$node", ".*").replace("$__rate_interval", "1m")
            reply = api(prometheus, "/api/v1/query", query=expr)
            assert reply["status"] == "success", (panel["title"], expr, reply)
            if not reply["data"]["result"]:
                empty.append(expr)
    # Every panel has data, but the error tables: no other error than the XID happened.
    assert {e.split("{")[0].split("(")[-1] for e in empty} == {
        "DCGM_FI_DEV_ECC_DBE_VOL_TOTAL",
        "DCGM_FI_DEV_ROW_REMAP_FAILURE",
        "DCGM_FI_DEV_PCIE_REPLAY_COUNTER",
    }, empty
