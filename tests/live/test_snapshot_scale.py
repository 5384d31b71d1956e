"""The issue's size: a snapshot of 500 nodes and 20,000 pods is a scenario simulate runs."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fakeapi import FakeApiServer
from snapshot_helpers import NOW
from snapshot_scale import large_cluster

from gpuplane.live.kube import Kube, load_config
from gpuplane.live.snapshot import Collected, SnapshotOptions, build, collect, write
from gpuplane.sim.twin.load import load_twin
from gpuplane.sim.twin.run_variants import run_variants


async def _collect(kubeconfig: Path) -> Collected:
    kube = Kube.connect(load_config(kubeconfig), timeout_s=60)
    try:
        return await collect(kube.http)
    finally:
        await kube.aclose()


def test_a_snapshot_of_500_nodes_and_20000_pods_runs_in_simulate(tmp_path: Path) -> None:
    with FakeApiServer(seed=1) as fake:
        large_cluster(fake, 500, 20_000)
        collected = asyncio.run(_collect(fake.write_kubeconfig(tmp_path / "kubeconfig")))
    assert len(collected.of("Pod")) == 20_000 and len(collected.of("Node")) == 500
    snap = build(collected, NOW, SnapshotOptions(horizon=6 * 3600))
    assert snap.counts["running"] == 14_000 and snap.counts["finished"] == 5_000
    path = tmp_path / "big.yaml"
    write(snap, path)
    twin = load_twin(path)
    (result,) = run_variants(twin.variants, jobs=1)
    assert result.report.submitted > 15_000
    assert result.report.finished > 0
