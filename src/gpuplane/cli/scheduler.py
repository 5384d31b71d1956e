"""`gpuplane scheduler`: the secondary scheduler for pods with `schedulerName: gpuplane`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import signal
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from gpuplane import __version__
from gpuplane.errors import InputError
from gpuplane.placement import DEFAULT_PROFILE, PROFILES

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine

    from lightkube.config.kubeconfig import SingleConfig

    from gpuplane.live.scheduler import LiveScheduler

    #: More work in the scheduler's process, on its LiveScheduler (gpuplane admission-check).
    Attach = Callable[[LiveScheduler], list[Coroutine[object, object, None]]]

USER_AGENT = f"gpuplane-scheduler/{__version__}"
log = logging.getLogger("gpuplane.scheduler")
#: kube-scheduler's secure port; gpuplane serves /metrics and the probes there, plain HTTP.
DEFAULT_METRICS_ADDRESS = ":10259"
#: How long a leader may go without renewing before /healthz fails (kube-scheduler's 20 s).
LEADER_HEALTH_TOLERANCE_S = 20.0


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
    leader_elect: bool = typer.Option(
        False, "--leader-elect", help="bind only while holding the Lease (run 2+ replicas)."
    ),
    lease_namespace: str = typer.Option(
        "gpuplane-system", "--leader-elect-namespace", help="namespace of the Lease."
    ),
    lease_name: str = typer.Option(
        "gpuplane-scheduler", "--leader-elect-lease", help="name of the Lease."
    ),
    identity: str | None = typer.Option(
        None, "--leader-elect-identity", help="this replica's name; default: hostname_<uuid>."
    ),
    metrics_address: str = typer.Option(
        DEFAULT_METRICS_ADDRESS,
        "--metrics-address",
        help="HOST:PORT for /metrics, /healthz, /livez and /readyz; empty: none.",
    ),
    metrics_port: int | None = typer.Option(
        None, "--metrics-port", help="shorthand for --metrics-address :PORT."
    ),
    log_level: str = typer.Option("info", "--log-level", help="debug, info, warning or error."),
    log_format: str = typer.Option("logfmt", "--log-format", help="logfmt or json."),
) -> None:
    """Schedule pods on the cluster with the twin's brain, until SIGTERM."""
    start(**locals())


def start(
    kubeconfig: Path | None,
    context: str | None,
    policy: str,
    scheduler_name: str,
    leader_elect: bool,
    lease_namespace: str,
    lease_name: str,
    identity: str | None,
    metrics_address: str,
    metrics_port: int | None,
    log_level: str,
    log_format: str,
    attach: Attach | None = None,
) -> None:
    """`gpuplane scheduler` with its options read; `attach` adds work in the same process."""
    from gpuplane.live.kube import load_config
    from gpuplane.live.logs import setup_logging
    from gpuplane.live.ops import parse_address

    if policy not in PROFILES:
        known = ", ".join(sorted(PROFILES))
        raise InputError(f"unknown placement policy {policy!r}", hint=f"choose one of: {known}")
    address = f":{metrics_port}" if metrics_port is not None else metrics_address
    try:
        setup_logging(log_level, log_format)
        listen = parse_address(address) if address else None
    except ValueError as err:
        raise InputError(str(err)) from None
    config = load_config(kubeconfig, context)
    election = (lease_namespace, lease_name, identity) if leader_elect else None
    lost = asyncio.run(_serve(config, policy, scheduler_name, election, listen, attach))
    if lost:
        # As kube-scheduler: a replica that lost its lease exits, and is restarted as a follower
        # with empty caches, rather than risk acting on a view another leader has changed.
        raise typer.Exit(1)


async def _serve(
    config: SingleConfig,
    policy: str,
    scheduler_name: str,
    election: tuple[str, str, str | None] | None,
    listen: tuple[str, int] | None,
    attach: Attach | None = None,
) -> bool:
    """Run until SIGTERM (False) or until leadership, once held, is lost (True)."""
    from gpuplane.live.kube import Kube
    from gpuplane.live.leader import LeaderElector, new_identity
    from gpuplane.live.metrics import SchedulerMetrics
    from gpuplane.live.ops import OpsServer
    from gpuplane.live.scheduler import LiveScheduler

    kube = Kube.connect(config)
    # Only the raw client is used: every request of the scheduler carries its User-Agent.
    kube.http.headers["User-Agent"] = USER_AGENT
    metrics = SchedulerMetrics(profile=scheduler_name)
    elector = None
    if election is not None:
        namespace, lease, identity = election
        elector = LeaderElector(
            kube.http,
            namespace,
            lease,
            identity or new_identity(random.Random()),
            metric=metrics,
            release_on_cancel=True,
        )
    live = LiveScheduler(
        kube.http,
        policy=policy,
        scheduler_name=scheduler_name,
        is_leader=elector.is_leader if elector is not None else None,
        metrics=metrics,
    )
    extra = attach(live) if attach is not None else []
    checks = {}
    if elector is not None:
        checks["leaderElection"] = lambda: elector.check(LEADER_HEALTH_TOLERANCE_S)
    ops = None
    if listen is not None:
        ops = OpsServer(
            metrics.registry, live.ready, host=listen[0], port=listen[1], health_checks=checks
        )
        await ops.start()
        log.info("serving /metrics and probes on %s:%d", listen[0], ops.port)
    tasks = [asyncio.create_task(live.run()), *(asyncio.create_task(c) for c in extra)]
    if elector is not None:
        tasks.append(asyncio.create_task(elector.run()))
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    stopping = asyncio.create_task(stop.wait())
    try:
        done, _ = await asyncio.wait([*tasks, stopping], return_when=asyncio.FIRST_COMPLETED)
        lost = elector is not None and tasks[-1] in done
        if lost:
            log.error("leader election lost: stopping")
        return lost
    finally:
        for task in (*tasks, stopping):
            task.cancel()
        for task in (*tasks, stopping):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if ops is not None:
            await ops.close()
        await kube.aclose()
