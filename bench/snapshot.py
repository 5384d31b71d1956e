"""`gpuplane snapshot` at scale: 500 nodes and 20,000 pods on the fake API over HTTP.

    PYTHONPATH=src .venv/bin/python bench/snapshot.py [--nodes 500] [--pods 20000] [--simulate]

The fake API server (tests/live/fakeapi) runs in this process, on its own threads; the cluster
is tests/live/snapshot_scale.py's (70% of the pods running, 5% waiting, 25% finished). Printed:
the time to list every kind over HTTP (paged by 500), to build the scenario, to write it, and
with --simulate the time `gpuplane simulate` takes to load and run it.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "live"))

from fakeapi import FakeApiServer
from snapshot_helpers import NOW
from snapshot_scale import large_cluster

from gpuplane.live.kube import Kube, load_config
from gpuplane.live.snapshot import SnapshotOptions, build, collect, write


async def _collect(kubeconfig: Path):  # type: ignore[no-untyped-def]
    kube = Kube.connect(load_config(kubeconfig), timeout_s=60)
    try:
        return await collect(kube.http)
    finally:
        await kube.aclose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--nodes", type=int, default=500)
    parser.add_argument("--pods", type=int, default=20_000)
    parser.add_argument("--simulate", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, FakeApiServer(seed=1) as fake:
        began = time.perf_counter()
        large_cluster(fake, args.nodes, args.pods)
        print(f"cluster of {args.nodes} nodes, {args.pods} pods made in "
              f"{time.perf_counter() - began:.1f} s")
        kubeconfig = fake.write_kubeconfig(Path(tmp) / "kubeconfig")
        t0 = time.perf_counter()
        collected = asyncio.run(_collect(kubeconfig))
        t1 = time.perf_counter()
        snap = build(collected, NOW, SnapshotOptions())
        t2 = time.perf_counter()
        path = Path(tmp) / "snap.yaml"
        write(snap, path)
        t3 = time.perf_counter()
        print(f"counts: {snap.counts}")
        print("| step | seconds |\n|---|---|")
        print(f"| list every kind over HTTP | {t1 - t0:.2f} |")
        print(f"| build the scenario | {t2 - t1:.2f} |")
        print(f"| write the files | {t3 - t2:.2f} |")
        print(f"| snapshot in all | {t3 - t0:.2f} |")
        if args.simulate:
            from gpuplane.sim.twin.load import load_twin
            from gpuplane.sim.twin.run_variants import run_variants

            t4 = time.perf_counter()
            twin = load_twin(path)
            t5 = time.perf_counter()
            results = run_variants(twin.variants, jobs=1)
            t6 = time.perf_counter()
            print(f"| simulate: load the scenario | {t5 - t4:.2f} |")
            print(f"| simulate: run it ({results[0].report.submitted} workloads) | {t6 - t5:.2f} |")


if __name__ == "__main__":
    main()
