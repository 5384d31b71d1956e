"""The cost of a scrape: one node of 8 GPUs time-sliced by 64 pods, fake backend.

    .venv/bin/python bench/telemetry_scrape.py [--scrapes 100] [--idle 5]

Three processes, so that each one's CPU is its own: the fake kubelet's pod-resources service
(tests/fake_podresources.py, the real gRPC protocol on a unix socket), the agent (the exporter
and its HTTP endpoint, with pod attribution through that socket and through a /proc and
/var/log tree built in a temporary directory: 64 pods, one GPU process each, 8 per GPU on
8 A100s as time-slicing replicas), and this one, which scrapes the agent over HTTP on
loopback. It prints the series and bytes of one scrape, the scrape's wall time (median and
90th percentile), the agent's CPU per scrape (from /proc/<pid>/stat, both user and system),
its CPU while idle, and what that makes at a 15 s scrape interval, in % of one core.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GPUS, PODS, INTERVAL = 8, 64, 15.0
NODE = f"node: bench-node\ngpus: [{{model: NVIDIA-A100-SXM4-80GB, count: {GPUS}}}]\n"


def kubelet_main(socket: str, uuids: list[str]) -> None:
    """The fake kubelet: 64 pods, each holding one replica of one GPU, until stdin closes."""
    sys.path.insert(0, str(ROOT / "tests"))
    from fake_podresources import FakePodResources

    with FakePodResources(Path(socket)) as kubelet:
        for i in range(PODS):
            replica = f"{uuids[i % GPUS]}::{i // GPUS}"
            kubelet.assign("bench", f"pod-{i}", "main", "nvidia.com/gpu", [replica])
        print("ready", flush=True)
        sys.stdin.read()


def agent_main(socket: str, root: str, port_file: str) -> None:
    """The agent: exporter and endpoint on a free port, written to `port_file`."""
    from gpuplane.node import FakeBackend
    from gpuplane.node.backend import ProcessSample
    from gpuplane.telemetry import GpuExporter, ProcessResolver
    from gpuplane.telemetry.podresources import PodResources
    from gpuplane.telemetry.server import serve_exporter

    backend = FakeBackend(text=NODE)
    gpus = backend.inventory().gpus
    for g, gpu in enumerate(gpus):
        pids = range(1000 + g * GPUS, 1000 + (g + 1) * GPUS)
        backend.telemetry.run(
            gpu.uuid, [ProcessSample(pid, 4_000 + 100 * k, sm_util=k) for k, pid in enumerate(pids)]
        )
    exporter = GpuExporter(
        backend,
        hostname="bench-node",
        pod_resources=PodResources(socket),
        resolver=ProcessResolver(Path(root) / "proc", Path(root) / "log"),
    )
    server = serve_exporter(exporter, "127.0.0.1", 0)
    Path(port_file).write_text(str(server.port))
    sys.stdin.read()
    server.stop()


def build_tree(root: Path) -> None:
    """/proc/<pid>/cgroup and /var/log/containers entries for the 64 pods' processes."""
    for i in range(PODS):
        gpu, k = i % GPUS, i // GPUS
        pid = 1000 + gpu * GPUS + k
        cid = f"{i + 1:064x}"
        uid = f"{i + 1:08x}-0000-4000-8000-{i + 1:012x}"
        (root / "proc" / str(pid)).mkdir(parents=True)
        (root / "proc" / str(pid) / "cgroup").write_text(
            f"0::/kubepods.slice/kubepods-pod{uid.replace('-', '_')}.slice/"
            f"cri-containerd-{cid}.scope\n"
        )
        (root / "log" / "containers").mkdir(parents=True, exist_ok=True)
        (root / "log" / "containers" / f"pod-{i}_bench_main-{cid}.log").touch()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scrapes", type=int, default=100)
    parser.add_argument("--idle", type=float, default=5.0, help="seconds of idle measurement")
    parser.add_argument("--role", choices=["kubelet", "agent"], help=argparse.SUPPRESS)
    parser.add_argument("--args", nargs="*", default=[], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role == "kubelet":
        kubelet_main(args.args[0], args.args[1:])
        return
    if args.role == "agent":
        agent_main(*args.args)
        return

    from gpuplane.node import FakeBackend

    uuids = [g.uuid for g in FakeBackend(text=NODE).inventory().gpus]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    me = [sys.executable, __file__]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        build_tree(root)
        socket, port_file = str(root / "kubelet.sock"), str(root / "port")
        kubelet = subprocess.Popen(
            [*me, "--role", "kubelet", "--args", socket, *uuids],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True,
        )
        assert kubelet.stdout is not None and kubelet.stdout.readline().strip() == "ready"
        agent = subprocess.Popen(
            [*me, "--role", "agent", "--args", socket, tmp, port_file],
            stdin=subprocess.PIPE, env=env,
        )
        try:
            while not Path(port_file).exists() or not Path(port_file).read_text():
                time.sleep(0.05)
            url = f"http://127.0.0.1:{Path(port_file).read_text()}/metrics"
            body = urllib.request.urlopen(url, timeout=10).read()  # warm-up
            time.sleep(0.5)
            idle_start = cpu_seconds(agent.pid)
            time.sleep(args.idle)
            idle_rate = (cpu_seconds(agent.pid) - idle_start) / args.idle
            walls = []
            start = cpu_seconds(agent.pid)
            for _ in range(args.scrapes):
                t0 = time.perf_counter()
                body = urllib.request.urlopen(url, timeout=10).read()
                walls.append(time.perf_counter() - t0)
            per_scrape = (cpu_seconds(agent.pid) - start) / args.scrapes
        finally:
            for child in (agent, kubelet):
                assert child.stdin is not None
                child.stdin.close()
                child.wait(timeout=10)
    text = body.decode()
    series = sum(1 for line in text.splitlines() if line and not line.startswith("#"))
    pods = sum(1 for line in text.splitlines() if line.startswith("gpuplane_pod_gpu_utilization{"))
    walls.sort()
    at_interval = 100 * (per_scrape / INTERVAL + idle_rate)
    print(f"node: {GPUS} GPUs, {PODS} pods time-slicing them ({pods} per-pod utilisation series)")
    print(f"one scrape: {series} series, {len(body) / 1024:.0f} KiB")
    print(
        f"scrape wall time over {args.scrapes}: median {1000 * statistics.median(walls):.1f} ms, "
        f"p90 {1000 * walls[int(0.9 * len(walls))]:.1f} ms"
    )
    print(f"agent CPU per scrape: {1000 * per_scrape:.1f} ms")
    print(f"agent CPU while idle: {100 * idle_rate:.3f}% of one core")
    print(f"agent CPU at a {INTERVAL:.0f} s scrape interval: {at_interval:.3f}% of one core")


if __name__ == "__main__":
    main()
