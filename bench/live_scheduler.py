"""The live scheduler at scale: 5,000 nodes and 10,000 pending pods on the fake API over HTTP.

    PYTHONPATH=src .venv/bin/python bench/live_scheduler.py [--runs 3] [--profile]

The fake API server (tests/live/fakeapi) runs in a child process, as a real apiserver is one:
on this 2-core machine the two processes share the cores, the fake's cost included. The child
creates 5,000 Nodes (seeded mix: H100 nodes of 8 whole GPUs, A100 nodes in MIG mixed mode with
14 1g.10gb slices, L4 nodes for fractions); the real `LiveScheduler` then lists and watches
them over loopback HTTP. Once its ClusterState is built from the 5,000 nodes (timed apart:
the cache rebuilds the state when the node set changes), the child creates 10,000 pending pods
(whole GPUs 1/2/4/8 on the H100s, MIG 1g.10gb slices, HAMi memory fractions), recording each
pod's creation time; the fake records the time of each pod's Binding as it commits it. Both
are CLOCK_MONOTONIC, which the two processes share. The run ends when the scheduler has bound
every pod (the mix is sized to fit: every pod is placeable).

Printed per run: binds per second end to end (pods / (last binding - first creation)), p50 and
p99 from a pod's creation to its binding, and the scheduler's own per-attempt time (the
brain's `schedule` call, and the whole attempt to the Binding's reply as the scheduler's
attempt-duration metric reports it). --profile runs the scheduler side under cProfile.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import multiprocessing as mp
import os
import pstats
import random
import statistics
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx2

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "live"))

from fakeapi import FakeApiServer
from fakeapi import server as fake_server

from gpuplane.live.scheduler import LiveScheduler

NODES, PODS = 5_000, 10_000
H100 = {"nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3", "nvidia.com/gpu.memory": "81559"}
A100_MIG = {
    "nvidia.com/gpu.product": "NVIDIA-A100-SXM4-80GB",
    "nvidia.com/gpu.memory": "81920",
    "nvidia.com/gpu.count": "2",
    "nvidia.com/mig.strategy": "mixed",
    "nvidia.com/mig-1g.10gb.count": "14",
}
L4_FRACTIONAL = {
    "nvidia.com/gpu.product": "NVIDIA-L4",
    "nvidia.com/gpu.memory": "23034",
    "nvidia.com/gpu.count": "2",
    "gpuplane.io/sharing": "fractional",
}


def node(name: str, labels: dict[str, str], allocatable: dict[str, str]) -> dict[str, Any]:
    resources = {"cpu": "128", "memory": "1024Gi", "pods": "110", **allocatable}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": dict(labels)},
        "status": {"allocatable": resources, "capacity": resources},
    }


def nodes(rng: random.Random, count: int) -> list[dict[str, Any]]:
    """70% H100 x8 (whole GPUs), 15% A100 x2 in MIG (14 slices), 15% L4 x2 for fractions."""
    out = []
    for i in range(count):
        draw = rng.random()
        if draw < 0.70:
            out.append(node(f"h100-{i:05d}", H100, {"nvidia.com/gpu": "8"}))
        elif draw < 0.85:
            out.append(node(f"a100-{i:05d}", A100_MIG, {"nvidia.com/mig-1g.10gb": "14"}))
        else:
            out.append(node(f"l4-{i:05d}", L4_FRACTIONAL, {"nvidia.com/gpu": "2"}))
    return out


def pod(name: str, limits: dict[str, str], selector: dict[str, str]) -> dict[str, Any]:
    resources = {"requests": {"cpu": "2", "memory": "8Gi"}, "limits": limits}
    spec: dict[str, Any] = {
        "schedulerName": "gpuplane",
        "containers": [{"name": "main", "image": "busybox", "resources": resources}],
    }
    if selector:
        spec["nodeSelector"] = selector
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}


def pods(rng: random.Random, count: int) -> list[dict[str, Any]]:
    """70% whole GPUs on H100 (1, 2, 4, 8: about 2.3 GPUs each, ~50% of the H100s' GPUs),
    15% MIG 1g.10gb (1 or 2 slices, ~15% of the slices), 15% HAMi fractions (4-12 GiB of an L4,
    ~50% of their memory): every pod fits."""
    out = []
    product = {"nvidia.com/gpu.product": H100["nvidia.com/gpu.product"]}
    for i in range(count):
        draw = rng.random()
        if draw < 0.70:
            gpus = rng.choices([1, 2, 4, 8], weights=[50, 25, 15, 10])[0]
            out.append(pod(f"whole-{i:05d}", {"nvidia.com/gpu": str(gpus)}, product))
        elif draw < 0.85:
            slices = rng.choice(["1", "1", "2"])
            out.append(pod(f"mig-{i:05d}", {"nvidia.com/mig-1g.10gb": slices}, {}))
        else:
            mem = str(rng.randrange(4096, 12289, 1024))
            limits = {"nvidia.com/gpu": "1", "nvidia.com/gpumem": mem}
            out.append(pod(f"frac-{i:05d}", limits, {}))
    return out


# -- the fake API server's process ---------------------------------------------------------


def profile_handlers(profiles: list[cProfile.Profile]) -> None:
    """Profile every connection the fake serves (cProfile sees one thread only)."""
    handle = fake_server._Handler.handle

    def profiled(self: Any) -> None:
        prof = cProfile.Profile()
        prof.enable()
        try:
            handle(self)
        finally:
            prof.disable()
            profiles.append(prof)

    fake_server._Handler.handle = profiled  # type: ignore[method-assign]


def print_profile(profiles: list[cProfile.Profile], title: str) -> None:
    out = io.StringIO()
    print(f"== {title}", file=out)
    stats = pstats.Stats(profiles[0], stream=out)
    for prof in profiles[1:]:
        stats.add(prof)
    stats.sort_stats("cumulative").print_stats(30)
    stats.sort_stats("tottime").print_stats(25)
    print(out.getvalue())


def serve(conn: Connection, seed: int, node_count: int, pod_count: int, profile: bool) -> None:
    """The child: serve the fake, create the nodes, then the pods on request; times back."""
    profiles: list[cProfile.Profile] = []
    if profile:
        profile_handlers(profiles)
    rng = random.Random(seed)
    node_objs, pod_objs = nodes(rng, node_count), pods(rng, pod_count)
    created: dict[str, float] = {}
    bound: dict[str, float] = {}
    with FakeApiServer(seed=seed, bookmark_interval=1.0) as fake:
        # The PodGroup CRDs installed, as on a cluster running coscheduling or Volcano.
        fake.register_crd("scheduling.x-k8s.io", "v1alpha1", "podgroups", "PodGroup")
        fake.register_crd("scheduling.volcano.sh", "v1beta1", "podgroups", "PodGroup")
        api = fake.api
        bind = api.bind

        def timed_bind(route: Any, body: Any) -> Any:
            reply = bind(route, body)
            bound[route.name] = time.monotonic()
            return reply

        api.bind = timed_bind  # type: ignore[method-assign]
        for obj in node_objs:
            api.create(api.route("/api/v1/nodes"), obj)
        conn.send(fake.url)
        assert conn.recv() == "pods"
        route = api.route("/api/v1/namespaces/default/pods")
        start = time.monotonic()
        cpu = time.process_time()
        for obj in pod_objs:
            api.create(route, obj)
            created[obj["metadata"]["name"]] = time.monotonic()
        conn.send(time.monotonic() - start)
        assert conn.recv() == "times"
        conn.send((created, bound, len(fake.audit), time.process_time() - cpu))
        assert conn.recv() == "stop"
    if profiles:
        print_profile(profiles, "the fake API server's connections")


# -- the scheduler's side -------------------------------------------------------------------


class Attempts:
    """The scheduler's metrics hook: per-attempt durations by result."""

    def __init__(self) -> None:
        self.durations: dict[str, list[float]] = {}

    def attempt(self, result: str, duration_s: float) -> None:
        self.durations.setdefault(result, []).append(duration_s)

    def pending(self, queue: str, n: int) -> None:
        pass

    def pod_scheduled(self, attempts: int) -> None:
        pass

    def watch_cluster(self, state: Any) -> None:
        pass


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def wait_for(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        await asyncio.sleep(0.01)


async def schedule_all(
    conn: Connection, url: str, node_count: int, pod_count: int, profile: cProfile.Profile | None
) -> dict[str, float]:
    http = httpx2.AsyncClient(base_url=url, timeout=30.0)
    metrics = Attempts()
    live = LiveScheduler(http, rng=random.Random(1), metrics=metrics)
    cache = live.cache
    builds: list[float] = []
    rebuild = cache._rebuild

    def timed_rebuild() -> None:
        start = time.perf_counter()
        rebuild()
        builds.append(time.perf_counter() - start)

    cache._rebuild = timed_rebuild  # type: ignore[method-assign]
    task = asyncio.create_task(live.run())
    try:
        listed = time.monotonic()
        await wait_for(
            lambda: live.ready() and len(cache.nodes) == node_count, 120, "nodes listed"
        )
        listed = time.monotonic() - listed
        await wait_for(lambda: not cache.dirty and builds, 120, "state built")
        rebuilds = cache.rebuilds
        decide: list[float] = []
        schedule = cache.scheduler.schedule

        def timed_schedule(p: Any) -> Any:
            start = time.perf_counter()
            decision = schedule(p)
            decide.append(time.perf_counter() - start)
            return decision

        cache.scheduler.schedule = timed_schedule  # type: ignore[method-assign]
        if profile is not None:
            profile.enable()
        cpu = time.process_time()
        conn.send("pods")
        await wait_for(lambda: len(live.bound) >= pod_count, 600, "every pod bound")
        cpu = time.process_time() - cpu
        if profile is not None:
            profile.disable()
        assert cache.rebuilds == rebuilds, "the state was rebuilt while binding"
        assert len(set(live.bound)) == len(live.bound), "a pod was bound twice"
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await http.aclose()
    creating = conn.recv()
    conn.send("times")
    created, bound, requests, fake_cpu = conn.recv()
    latencies = [bound[name] - created[name] for name in created]
    span = max(bound.values()) - min(created.values())
    scheduled = metrics.durations.get("scheduled", [])
    return {
        "list_s": listed,
        "build_s": builds[-1],
        "create_s": creating,
        "binds_per_s": len(bound) / span,
        "p50_s": pct(latencies, 0.50),
        "p99_s": pct(latencies, 0.99),
        "decide_p50_ms": 1000 * pct(decide, 0.50),
        "decide_p99_ms": 1000 * pct(decide, 0.99),
        "attempt_p50_ms": 1000 * pct(scheduled, 0.50),
        "attempt_p99_ms": 1000 * pct(scheduled, 0.99),
        "unschedulable": len(metrics.durations.get("unschedulable", [])),
        "requests": requests,
        "cpu_scheduler_s": cpu,
        "cpu_fake_s": fake_cpu,
        "wall_s": span,
        "cpu_ms_per_bind_scheduler": 1000 * cpu / len(bound),
        "cpu_ms_per_bind_fake": 1000 * fake_cpu / len(bound),
        # Each process on a core of its own, nothing else running: the slower one's pace.
        "bound_per_s": len(bound) / max(cpu, fake_cpu),
    }


def one_run(
    seed: int, node_count: int, pod_count: int, profile: bool, profile_fake: bool
) -> dict[str, float]:
    parent, child = mp.get_context("fork").Pipe()
    server = mp.get_context("fork").Process(
        target=serve, args=(child, seed, node_count, pod_count, profile_fake), daemon=True
    )
    server.start()
    try:
        url = parent.recv()
        prof = cProfile.Profile() if profile else None
        result = asyncio.run(schedule_all(parent, url, node_count, pod_count, prof))
        parent.send("stop")
    finally:
        server.join(timeout=10)
        if server.is_alive():
            server.terminate()
    if prof is not None:
        print_profile([prof], "the scheduler")
    result["load_1min"] = os.getloadavg()[0]
    return result


COLUMNS = [
    ("binds_per_s", "binds/s", "{:.0f}"),
    ("p50_s", "p50 create->bind s", "{:.2f}"),
    ("p99_s", "p99 create->bind s", "{:.2f}"),
    ("decide_p50_ms", "schedule() p50 ms", "{:.2f}"),
    ("decide_p99_ms", "schedule() p99 ms", "{:.2f}"),
    ("attempt_p50_ms", "attempt p50 ms", "{:.1f}"),
    ("attempt_p99_ms", "attempt p99 ms", "{:.1f}"),
    ("build_s", "state build s", "{:.2f}"),
    ("list_s", "node list s", "{:.2f}"),
    ("create_s", "pod create s", "{:.2f}"),
    ("unschedulable", "unschedulable", "{:.0f}"),
    ("requests", "requests", "{:.0f}"),
    ("wall_s", "wall s", "{:.1f}"),
    ("cpu_scheduler_s", "CPU scheduler s", "{:.1f}"),
    ("cpu_fake_s", "CPU fake s", "{:.1f}"),
    ("cpu_ms_per_bind_scheduler", "CPU ms/bind scheduler", "{:.2f}"),
    ("cpu_ms_per_bind_fake", "CPU ms/bind fake", "{:.2f}"),
    ("bound_per_s", "CPU-bound binds/s", "{:.0f}"),
    ("load_1min", "load avg after", "{:.1f}"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--nodes", type=int, default=NODES)
    parser.add_argument("--pods", type=int, default=PODS)
    parser.add_argument("--profile", action="store_true", help="cProfile the scheduler")
    parser.add_argument(
        "--profile-fake", action="store_true", help="cProfile the fake API server's connections"
    )
    args = parser.parse_args()
    results = [
        one_run(args.seed + i, args.nodes, args.pods, args.profile, args.profile_fake)
        for i in range(args.runs)
    ]
    print(f"{args.nodes} nodes, {args.pods} pods, {args.runs} run(s), seeds {args.seed}+")
    runs = "".join(f"{'run ' + str(i + 1):>10}" for i in range(args.runs))
    print(f"{'':22}{runs}{'median':>10}")
    for key, label, fmt in COLUMNS:
        values = [r[key] for r in results]
        cells = "".join(f"{fmt.format(v):>10}" for v in values)
        print(f"{label:22}{cells}{fmt.format(statistics.median(values)):>10}")


if __name__ == "__main__":
    main()
