"""`gpuplane place`: where would these pods land on this cluster, and why not the others."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table
from rich.text import Text

from gpuplane import __version__
from gpuplane.cli.app import noted, out, plain
from gpuplane.cli.reading import reading
from gpuplane.cluster import ClusterState
from gpuplane.cluster.load import load_cluster
from gpuplane.errors import InputError
from gpuplane.objects import Job, Node, read_manifests
from gpuplane.objects.summary import counted, read_summary
from gpuplane.placement import DEFAULT_PROFILE, PROFILES, Placement, Scheduler
from gpuplane.placement.selector_warnings import selector_warnings
from gpuplane.quantity import format_memory
from gpuplane.sharing import ISOLATION, SharingKind

if TYPE_CHECKING:
    from gpuplane.live.cache import ClusterCache

USER_AGENT = f"gpuplane-place/{__version__}"


def register(app: typer.Typer) -> None:
    app.command("place")(place)


def place(
    manifests: list[Path] = typer.Argument(
        ..., help="Manifest files or directories (Pods and Jobs; other kinds are read too)."
    ),
    cluster: Path | None = typer.Option(
        None, "--cluster", "-c", help="A cluster spec YAML, or Node manifests (file or directory)."
    ),
    kubeconfig: Path | None = typer.Option(
        None, "--kubeconfig", help="Place on a live cluster as it is now (read-only) instead."
    ),
    context: str | None = typer.Option(
        None, "--context", help="kubeconfig context of the live cluster."
    ),
    policy: str = typer.Option(
        DEFAULT_PROFILE, "--policy", help=f"Placement policy: {', '.join(sorted(PROFILES))}."
    ),
    strict: bool = typer.Option(
        False, "--strict", help="Every warning is an error: exit 2 before placing anything."
    ),
) -> None:
    """Place the pods of MANIFESTS in order on CLUSTER and print where each one lands.

    With --kubeconfig (or --context), CLUSTER is the live cluster: its Nodes, and every pod
    bound there holding what it holds, as `gpuplane scheduler` counts them. Nothing is changed.
    What was read, and what was skipped and why, is printed first on stderr.
    """
    live = kubeconfig is not None or context is not None
    if live == (cluster is not None):
        raise InputError(
            "give the cluster as --cluster FILE or as --kubeconfig FILE [--context NAME]",
            hint="--cluster reads nodes from files; --kubeconfig reads a live cluster",
        )
    with reading(manifests, recursive=False) as progress:
        read = read_manifests(manifests, recursive=False, progress=progress)
    warnings = list(read.warnings)
    if cluster is not None:
        nodes = load_cluster(cluster)
        scheduler = Scheduler(ClusterState(nodes), policy)
    else:
        nodes, scheduler, uncounted = _live(kubeconfig, context, policy)
        warnings += uncounted

    pods = [p for w in read.workloads for p in (w.active_pods() if isinstance(w, Job) else [w])]
    for pod in pods:
        warnings += selector_warnings(pod, nodes)
    summary = [*read_summary(read), f"{len(pods)} pods to place on {len(nodes)} nodes"]
    noted(summary, warnings, strict=strict)

    state = scheduler.state
    table = Table(title=f"{len(pods)} pods on {len(nodes)} nodes ({scheduler.profile.name})")
    for column in ("POD", "GPU REQUEST", "NODE", "MODE"):
        table.add_column(column, no_wrap=True)
    table.add_column("GPUS", overflow="fold")
    refused: list[tuple[str, str]] = []
    notes: list[tuple[str, str]] = []
    modes: set[SharingKind] = set()
    for pod in pods:
        decision = scheduler.place(pod)
        if isinstance(decision, Placement):
            mode = _mode(state, decision)
            if mode is not None:
                modes.add(mode)
            table.add_row(
                plain(pod.key),
                plain(pod.gpu.describe()),
                plain(decision.node),
                mode.value if mode else "-",
                plain(_devices(state, decision)),
            )
            notes += [(pod.key, note) for note in decision.notes]
        else:
            table.add_row(
                plain(pod.key), plain(pod.gpu.describe()), plain("Pending", "red"), "",
                plain("unschedulable", "red"),
            )
            refused.append((pod.key, decision.message))
    out.print(table)
    for key, note in notes:
        out.print(Text.assemble((key, "yellow"), ": ", note), highlight=False, soft_wrap=True)
    # Reasons below the table, one line each, worded as kube-scheduler's FailedScheduling events.
    for key, message in refused:
        out.print(Text.assemble((key, "red"), ": ", message), highlight=False, soft_wrap=True)
    placed = len(pods) - len(refused)
    said = f"{placed}/{len(pods)} pods placed, {len(refused)} unschedulable"
    if read.skipped:
        # A count of pods alone reads as "all of it" while objects were left out.
        skipped = counted(Counter(s.kind for s in read.skipped))
        said += f"; {len(read.skipped)} objects skipped ({skipped})"
    out.print(said + ".", highlight=False, markup=False, soft_wrap=True)
    if modes - {SharingKind.EXCLUSIVE} or len(modes) > 1:
        out.print(_isolation_table(modes))


def _live(
    kubeconfig: Path | None, context: str | None, policy: str
) -> tuple[list[Node], Scheduler, list[str]]:
    """The live cluster's nodes, a scheduler on its state now, and the pods it cannot count."""
    import asyncio

    from gpuplane.live.kube import Kube, load_config
    from gpuplane.live.snapshot.state import live_cache

    async def read() -> ClusterCache:
        kube = Kube.connect(load_config(kubeconfig, context))
        kube.http.headers["User-Agent"] = USER_AGENT
        try:
            return await live_cache(kube.http, policy)
        finally:
            await kube.aclose()

    cache = asyncio.run(read())
    uncounted = [
        f"pod {key} is bound but not counted (its node is unknown or it does not fit there)"
        for key in sorted(cache.uncounted)
    ]
    return [cache.nodes[name] for name in sorted(cache.nodes)], cache.scheduler, uncounted


def _mode(state: ClusterState, p: Placement) -> SharingKind | None:
    if not p.gpus:
        return None
    return state.nodes[p.node_index].sharing.for_gpu(p.gpus[0]).kind


def _devices(state: ClusterState, p: Placement) -> str:
    """What the pod got on its node, in words a platform engineer reads at a glance."""
    parts = []
    index = state.device_index[p.node_index]
    for k, (gpu, milli, mem) in enumerate(zip(p.gpus, p.gpu_milli, p.gpu_memory_mib, strict=True)):
        device = index.get(p.devices[k]) if p.devices else None
        if device is None:
            whole = milli == 1000 and mem == state.gpu_mem_total[p.node_index, gpu]
            parts.append(str(gpu) if whole else f"{gpu} ({milli}m, {format_memory(mem)})")
        elif device.mig_profile is not None:
            parts.append(f"{gpu}: {device.mig_profile} @ slice {device.mig_start}")
        elif device.replica is not None:
            parts.append(f"{gpu}: replica {device.replica}")
        else:
            parts.append(str(gpu))
    parts += [f"{count} x {name}" for name, count in p.extended.items() if count]
    return ", ".join(parts) or "-"


def _isolation_table(modes: set[SharingKind]) -> Table:
    """What each sharing mode in use trades away, so the choice is visible."""
    table = Table(title="What each sharing mode isolates")
    for column in ("MODE", "MEMORY ISOLATION", "FAULT ISOLATION", "COMPUTE", "NOTE"):
        table.add_column(column)
    for mode in SharingKind:
        if mode in modes:
            iso = ISOLATION[mode]
            yes = {True: plain("yes"), False: plain("no", "yellow")}
            table.add_row(mode.value, yes[iso.memory], yes[iso.fault], iso.compute, iso.note)
    return table
