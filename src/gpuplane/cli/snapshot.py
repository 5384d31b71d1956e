"""`gpuplane snapshot`: a live cluster written as a scenario that `gpuplane simulate` runs."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from gpuplane import __version__
from gpuplane.cli.app import out

if TYPE_CHECKING:
    from lightkube.config.kubeconfig import SingleConfig

    from gpuplane.live.snapshot import Collected

USER_AGENT = f"gpuplane-snapshot/{__version__}"


def register(app: typer.Typer) -> None:
    app.command("snapshot")(snapshot)


def snapshot(
    output: Path = typer.Option(
        ..., "--output", "-o", help="the scenario file; its manifests are written beside it."
    ),
    kubeconfig: Path | None = typer.Option(
        None, "--kubeconfig", help="kubeconfig file; default: in-cluster, else $KUBECONFIG."
    ),
    context: str | None = typer.Option(None, "--context", help="kubeconfig context to use."),
    pool_label: str = typer.Option(
        "karpenter.sh/nodepool",
        "--pool-label",
        help="node label that names node pools (then instance type, then GPU product).",
    ),
    horizon: str = typer.Option("24h", "--horizon", help="how long the scenario simulates."),
    anonymize: bool = typer.Option(
        False, "--anonymize", help="hash the names of objects, namespaces, nodes and queues."
    ),
    salt: str = typer.Option("", "--salt", help="salt of the --anonymize hashes."),
) -> None:
    """Read the cluster (read-only) and write a scenario of it: nodes, queues, work, history."""
    from gpuplane.errors import Location
    from gpuplane.live.kube import load_config
    from gpuplane.live.snapshot import SnapshotOptions, build, write
    from gpuplane.objects import read_duration
    from gpuplane.objects.yamlio import Field

    seconds = read_duration(Field(horizon, Location(field="--horizon")))
    config = load_config(kubeconfig, context)
    started = time.monotonic()
    collected = asyncio.run(_collect(config))
    options = SnapshotOptions(
        pool_label=pool_label,
        horizon=seconds,
        anonymize=anonymize,
        salt=salt,
        cluster_name="cluster" if anonymize else (context or config.context_name or "cluster"),
    )
    snap = build(collected, time.time(), options)
    files = write(snap, output)
    c = snap.counts
    out.print(
        f"{c['nodes']} nodes in {c['pools']} pools, {c['running']} running pods, "
        f"{c['pendingJobs']} waiting Jobs and {c['pendingPods']} waiting pods, "
        f"{c['finished']} finished workloads in the model "
        f"({time.monotonic() - started:.1f} s)",
        highlight=False,
    )
    for path in files:
        out.print(f"wrote {path}", highlight=False)


async def _collect(config: SingleConfig) -> Collected:
    from gpuplane.live.kube import Kube
    from gpuplane.live.snapshot import collect

    kube = Kube.connect(config)
    kube.http.headers["User-Agent"] = USER_AGENT
    try:
        return await collect(kube.http)
    finally:
        await kube.aclose()
