"""`gpuplane admission-check`: the scheduler with Kueue's placement admission check in-process.

The check's promises are capacity held in the scheduler's own view of the cluster, so both run
in one process: this verb takes every option of `gpuplane scheduler`, and the check's own.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from gpuplane.cli import scheduler as scheduler_cli
from gpuplane.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Coroutine

    from gpuplane.live.scheduler import LiveScheduler

# The scheduler's options, declared once (typer reads them off each function's defaults).
_SCHEDULER = inspect.signature(scheduler_cli.scheduler).parameters
KUEUE_VERSIONS = ("v1beta2", "v1beta1")


def register(app: typer.Typer) -> None:
    app.command("admission-check")(admission_check)


def admission_check(
    kubeconfig: Path | None = _SCHEDULER["kubeconfig"].default,
    context: str | None = _SCHEDULER["context"].default,
    policy: str = _SCHEDULER["policy"].default,
    scheduler_name: str = _SCHEDULER["scheduler_name"].default,
    leader_elect: bool = _SCHEDULER["leader_elect"].default,
    lease_namespace: str = _SCHEDULER["lease_namespace"].default,
    lease_name: str = _SCHEDULER["lease_name"].default,
    identity: str | None = _SCHEDULER["identity"].default,
    metrics_address: str = _SCHEDULER["metrics_address"].default,
    metrics_port: int | None = _SCHEDULER["metrics_port"].default,
    log_level: str = _SCHEDULER["log_level"].default,
    log_format: str = _SCHEDULER["log_format"].default,
    kueue_api: str = typer.Option(
        KUEUE_VERSIONS[0], "--kueue-api", help="Kueue's API version: v1beta2 or v1beta1."
    ),
    promise_timeout: float = typer.Option(
        300.0, "--promise-timeout", help="seconds capacity is held for a Ready Workload's pods."
    ),
    retry_after: float = typer.Option(
        0.0,
        "--retry-after",
        help="seconds a Workload may wait unplaceable before its check is set to Retry "
        "(its quota given back); 0: it stays Pending.",
    ),
) -> None:
    """Schedule pods, and admit Kueue Workloads only when all their pods can be placed."""
    if kueue_api not in KUEUE_VERSIONS:
        raise InputError(
            f"unknown Kueue API version {kueue_api!r}", hint="use v1beta2 or v1beta1"
        )
    if promise_timeout <= 0 or retry_after < 0:
        raise InputError("--promise-timeout must be above 0 and --retry-after not below 0")

    def attach(live: LiveScheduler) -> list[Coroutine[object, object, None]]:
        from gpuplane.live.admission import AdmissionCheckController

        check = AdmissionCheckController.for_scheduler(
            live,
            version=kueue_api,
            promise_timeout_s=promise_timeout,
            retry_after_s=retry_after or None,
        )
        return [check.run()]

    options = {k: v for k, v in locals().items() if k in _SCHEDULER}
    scheduler_cli.start(**options, attach=attach)
