"""`gpuplane snapshot` against the fake API: the scenario holds what the API holds, and runs."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from fakeapi import FakeApiServer
from live_helpers import run
from snapshot_helpers import NOW, small_cluster

from gpuplane.cluster.load import load_cluster
from gpuplane.errors import Location
from gpuplane.live.kube import Kube, load_config
from gpuplane.live.snapshot import SnapshotOptions, build, collect, write
from gpuplane.live.snapshot.clean import POOL_LABEL
from gpuplane.live.snapshot.unmanaged import UNMANAGED
from gpuplane.objects import read_api_objects, read_manifests

from helpers import run_cli


async def _collect(kubeconfig: Path):  # type: ignore[no-untyped-def]
    kube = Kube.connect(load_config(kubeconfig))
    try:
        return await collect(kube.http)
    finally:
        await kube.aclose()


@pytest.fixture
def fake() -> FakeApiServer:
    with FakeApiServer(seed=1) as server:
        small_cluster(server)
        yield server
    assert server.errors == []


def _snapshot(fake: FakeApiServer, tmp_path: Path, **options: object) -> Path:
    collected = run(_collect(fake.write_kubeconfig(tmp_path / "kubeconfig")))
    snap = build(collected, NOW, SnapshotOptions(**options))  # type: ignore[arg-type]
    path = tmp_path / "snap" / "cluster.yaml"
    write(snap, path)
    return path


def _plain(objects: list) -> list:  # type: ignore[type-arg]
    return [replace(o, source=Location()) for o in objects]


def test_the_snapshot_holds_the_cluster_queues_and_running_work(
    fake: FakeApiServer, tmp_path: Path
) -> None:
    path = _snapshot(fake, tmp_path)
    api = read_api_objects(
        [*(o | {"apiVersion": "v1", "kind": "Node"} for o in fake.objects("nodes").values())]
    )
    nodes = load_cluster(path.with_name("cluster.nodes.yaml"))
    pools = {n.name: n.labels[POOL_LABEL] for n in nodes}
    assert pools == {"cpu-a": "cpu", "h100-a": "train", "h100-b": "train", "l4-a": "g6.xlarge"}
    stripped = [replace(n, labels={k: v for k, v in n.labels.items() if k != POOL_LABEL})
                for n in nodes]
    assert _plain(stripped) == _plain(sorted(api.nodes, key=lambda n: n.name))

    queues = read_manifests([path.with_name("cluster.queues.yaml")])
    truth = read_api_objects(
        [o for plural, group in (("clusterqueues", "kueue.x-k8s.io"),
                                 ("localqueues", "kueue.x-k8s.io"),
                                 ("resourceflavors", "kueue.x-k8s.io"),
                                 ("workloadpriorityclasses", "kueue.x-k8s.io"),
                                 ("priorityclasses", "scheduling.k8s.io"),
                                 ("resourcequotas", ""))
         for o in fake.objects(plural, group, "v1beta1" if group.startswith("kueue") else "v1")
         .values()]
    )
    for kind in ("cluster_queues", "local_queues", "resource_flavors",
                 "workload_priority_classes", "priority_classes", "resource_quotas"):
        mine = [o for o in getattr(queues, kind) if getattr(o, "name", "") != UNMANAGED]
        assert _plain(mine) == _plain(getattr(truth, kind)), kind
    # The server (no queue) gets the unmanaged queue in its own namespace.
    assert {(q.namespace, q.name) for q in queues.local_queues} == {
        ("research", "train"), ("serving", UNMANAGED)
    }

    work = read_manifests([path.with_name("cluster.workloads.yaml")])
    running = {(p.key, p.node_name, p.cpu_milli, p.memory_mib, p.gpu) for p in work.pods
               if p.node_name}
    bound = read_api_objects(
        [o for o in fake.objects("pods").values() if o["spec"].get("nodeName")]
    ).pods
    assert running == {(p.key, p.node_name, p.cpu_milli, p.memory_mib, p.gpu) for p in bound}
    assert [(j.namespace, j.name) for j in work.jobs] == [("research", "wait")]
    assert [p.key for p in work.pods if not p.node_name] == ["research/lone"]
    # A Job pod runs on for the median of its team's history less what it ran (30 min).
    durations = {p.key: p.sim.duration for p in work.pods}
    assert durations["research/run-0"] == pytest.approx(2.5 * 3600 - 1800)
    assert durations["serving/web-1"] is None  # a server runs to the horizon


def test_secrets_and_private_fields_never_reach_the_files(
    fake: FakeApiServer, tmp_path: Path
) -> None:
    path = _snapshot(fake, tmp_path)
    text = "".join(p.read_text() for p in path.parent.iterdir())
    assert "do-not-copy" not in text and "registry.example" not in text
    assert {e.resource for e in fake.audit} <= {
        "nodes", "pods", "jobs", "resourcequotas", "priorityclasses", "clusterqueues",
        "localqueues", "resourceflavors", "workloadpriorityclasses", "cohorts", "queues",
        "podgroups",
    }
    assert {e.verb for e in fake.audit} == {"list"}


def test_anonymize_hashes_names_and_keeps_references(
    fake: FakeApiServer, tmp_path: Path
) -> None:
    path = _snapshot(fake, tmp_path, anonymize=True, salt="s")
    text = "".join(p.read_text() for p in path.parent.iterdir())
    for name in ("research", "h100-a", "run-0", "web-1", "train"):
        assert name not in text.replace("NVIDIA", ""), name
    work = read_manifests([path.with_name("cluster.workloads.yaml")])
    nodes = {n.name for n in load_cluster(path.with_name("cluster.nodes.yaml"))}
    assert {p.node_name for p in work.pods if p.node_name} <= nodes


def test_the_snapshot_runs_in_simulate(
    fake: FakeApiServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = _snapshot(fake, tmp_path)
    scenario = yaml.safe_load(path.read_text())
    assert scenario["workload"]["arrivals"], "the history makes arrivals"
    code, out, err = run_cli(capsys, monkeypatch, "simulate", path, "--json", "--out",
                             tmp_path / "report", "-j", "1")
    assert code == 0, err
    report = json.loads(out)
    # The 5 workloads there now, and the day's arrivals fitted from 12 Jobs in a day.
    assert report["arrived"] >= 5 + 8, report
    assert report["variants"][0]["finished"] >= 8, report
