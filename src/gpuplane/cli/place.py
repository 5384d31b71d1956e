"""`gpuplane place`: where would these pods land on this cluster, and why not the others."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from gpuplane.cli.app import out, warn
from gpuplane.cluster import ClusterState
from gpuplane.cluster.load import load_cluster
from gpuplane.objects import Job, read_manifests
from gpuplane.placement import DEFAULT_PROFILE, PROFILES, Placement, Scheduler
from gpuplane.placement.warnings import selector_warnings
from gpuplane.quantity import format_memory


def register(app: typer.Typer) -> None:
    app.command("place")(place)


def place(
    manifests: list[Path] = typer.Argument(
        ..., help="Manifest files or directories (Pods and Jobs; other kinds are read too)."
    ),
    cluster: Path = typer.Option(
        ..., "--cluster", "-c", help="A cluster spec YAML, or Node manifests (file or directory)."
    ),
    policy: str = typer.Option(
        DEFAULT_PROFILE, "--policy", help=f"Placement policy: {', '.join(sorted(PROFILES))}."
    ),
) -> None:
    """Place the pods of MANIFESTS in order on CLUSTER and print where each one lands."""
    nodes = load_cluster(cluster)
    read = read_manifests(manifests, recursive=False)
    scheduler = Scheduler(ClusterState(nodes), policy)
    for message in read.warnings:
        warn(message)

    pods = [p for w in read.workloads for p in (w.active_pods() if isinstance(w, Job) else [w])]
    for pod in pods:
        for message in selector_warnings(pod, nodes):
            warn(message)

    table = Table(title=f"{len(pods)} pods on {len(nodes)} nodes ({scheduler.profile.name})")
    for column in ("POD", "GPU REQUEST", "NODE"):
        table.add_column(column, no_wrap=True)
    table.add_column("GPUS", overflow="fold")
    refused: list[tuple[str, str]] = []
    for pod in pods:
        decision = scheduler.place(pod)
        if isinstance(decision, Placement):
            table.add_row(pod.key, pod.gpu.describe(), decision.node, _devices(decision))
        else:
            table.add_row(pod.key, pod.gpu.describe(), "[red]Pending[/]", "[red]unschedulable[/]")
            refused.append((pod.key, decision.message))
    out.print(table)
    # Reasons below the table, one line each, worded as kube-scheduler's FailedScheduling events.
    for key, message in refused:
        out.print(f"[red]{escape(key)}[/]: {escape(message)}", highlight=False, soft_wrap=True)
    placed = len(pods) - len(refused)
    out.print(f"{placed}/{len(pods)} pods placed, {len(refused)} unschedulable.")


def _devices(p: Placement) -> str:
    """GPU indices on the node, with the share taken when it is less than a whole GPU."""
    parts = []
    for gpu, milli, mem in zip(p.gpus, p.gpu_milli, p.gpu_memory_mib, strict=True):
        parts.append(str(gpu) if milli == 1000 else f"{gpu} ({milli}m, {format_memory(mem)})")
    parts += [f"{count} x {name}" for name, count in p.extended.items() if count]
    return ", ".join(parts) or "-"


