"""`gpuplane scheduler`: the secondary scheduler for pods with `schedulerName: gpuplane`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from gpuplane import __version__
from gpuplane.errors import InputError
from gpuplane.placement import DEFAULT_PROFILE, PROFILES

if TYPE_CHECKING:
    from lightkube.config.kubeconfig import SingleConfig

USER_AGENT = f"gpuplane-scheduler/{__version__}"


def register(app: typer.Typer) -> None:
    app.command("scheduler")(scheduler)


def scheduler(
    kubeconfig: Path | None = typer.Option(
        None, "--kubeconfig", help="kubeconfig file; default: in-cluster, else $KUBECONFIG."
    ),
    context: str | None = typer.Option(None, "--context", help="kubeconfig context to use."),
    policy: str = typer.Option(
        DEFAULT_PROFILE, "--policy", help=f"placement policy: {', '.join(sorted(PROFILES))}."
    ),
    scheduler_name: str = typer.Option(
        "gpuplane", "--scheduler-name", help="schedule the pods whose spec.schedulerName is this."
    ),
) -> None:
    """Schedule pods on the cluster with the twin's brain, until SIGTERM."""
    if policy not in PROFILES:
        known = ", ".join(sorted(PROFILES))
        raise InputError(f"unknown placement policy {policy!r}", hint=f"choose one of: {known}")
    from gpuplane.live.kube import load_config

    config = load_config(kubeconfig, context)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    asyncio.run(_serve(config, policy, scheduler_name))


async def _serve(config: SingleConfig, policy: str, scheduler_name: str) -> None:
    from gpuplane.live.kube import Kube
    from gpuplane.live.scheduler import LiveScheduler

    kube = Kube.connect(config)
    # Only the raw client is used: every request of the scheduler carries its User-Agent.
    kube.http.headers["User-Agent"] = USER_AGENT
    live = LiveScheduler(kube.http, policy=policy, scheduler_name=scheduler_name)
    task = asyncio.create_task(live.run())
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, task.cancel)
    try:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    finally:
        await kube.aclose()
