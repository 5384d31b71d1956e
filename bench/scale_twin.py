"""Scale: building the cluster state, and the twin's built-in scenario at growing sizes.

    PYTHONPATH=src .venv/bin/python bench/scale_twin.py [--repeat 3] [--nodes 10000,50000,100000]
        [--scales 1,5,25] [--variant exclusive] [--profile SCALE]

First table: `ClusterState` built from N mixed nodes (8-GPU A100 and H100, 4-GPU L4 with
time-slicing, A100 with MIG, CPU-only), median seconds over the repeats.

Second table: one variant of the built-in scenario scaled s times: every node pool's count,
every arrival count and arrival rate (the same day, s times as busy) and every queue's quota
are multiplied by s. Median wall and CPU time over the repeats (CPU time is steadier on a
shared machine), and the growth exponent fitted by least squares on log(time) against
log(workloads) over all measured scales.
`--profile S` runs scale S once under cProfile instead and prints the top of the profile.
"""

from __future__ import annotations

import argparse
import cProfile
import math
import pstats
import re
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from gpuplane.catalog import lookup
from gpuplane.cluster import ClusterState
from gpuplane.objects import Node
from gpuplane.sharing import GpuSharing, MigStrategy, NodeSharing, SharingKind, gfd_labels
from gpuplane.sim.twin.load import default_scenario_path, load_twin
from gpuplane.sim.twin.run_variants import run_variant


def mixed_nodes(count: int) -> list[Node]:
    """`count` nodes cycling through five shapes, as a large mixed fleet would have."""
    products = ("NVIDIA-A100-SXM4-80GB", "NVIDIA-H100-80GB-HBM3", "NVIDIA-L4")
    a100, h100, l4 = (lookup(m) for m in products)
    ts = NodeSharing(GpuSharing(SharingKind.TIME_SLICING, replicas=4))
    mig = NodeSharing(
        GpuSharing(SharingKind.MIG, mig_layout=("2g.20gb",) * 3), mig_strategy=MigStrategy.MIXED
    )
    shapes: list[tuple[Any, int, NodeSharing | None]] = [
        (a100, 8, None),
        (h100, 8, None),
        (l4, 4, ts),
        (a100, 8, mig),
        (None, 0, None),
    ]
    out = []
    for i in range(count):
        model, gpus, sharing = shapes[i % len(shapes)]
        extra: dict[str, Any] = {} if sharing is None else {"sharing": sharing}
        out.append(
            Node(
                name=f"node-{i}",
                cpu_milli=96_000,
                memory_mib=1024 * 1024,
                gpu_count=gpus,
                gpu_model=model.product if model else None,
                gpu_memory_mib=model.memory_mib if model else 0,
                labels=gfd_labels(model, gpus) if model else {},
                **extra,
            )
        )
    return out


def build_table(sizes: list[int], repeat: int) -> list[str]:
    lines = ["| nodes | build s (median) | µs per node |", "|---:|---:|---:|"]
    for n in sizes:
        nodes = mixed_nodes(n)
        times = []
        for _ in range(repeat):
            began = time.perf_counter()
            ClusterState(nodes)
            times.append(time.perf_counter() - began)
        t = statistics.median(times)
        lines.append(f"| {n:,} | {t:.2f} | {t / n * 1e6:.1f} |")
        print(lines[-1], flush=True)
    return lines


def _times(value: Any, s: int) -> Any:
    """A quantity (int, "2000", "20Ti") multiplied by s, in its own notation."""
    if isinstance(value, int):
        return value * s
    m = re.fullmatch(r"(\d+)(\D*)", str(value))
    assert m, value
    return f"{int(m[1]) * s}{m[2]}"


def scaled_scenario(scale: int, into: Path) -> Path:
    """The built-in scenario with pools, arrivals and quotas multiplied by `scale`."""
    source = default_scenario_path()
    body = yaml.safe_load(source.read_text())
    specs = [body, *body.get("variants", [])]
    for spec in specs:
        for pool in (spec.get("cluster") or {}).get("nodePools", []):
            if "count" in pool:
                pool["count"] = pool["count"] * scale
    for arrival in body["workload"]["arrivals"]:
        arrival["count"] *= scale
        arrival["ratePerHour"] *= scale
    docs = list(yaml.safe_load_all((source.parent / "default-queues.yaml").read_text()))
    for doc in docs:
        for group in doc.get("spec", {}).get("resourceGroups", []):
            for flavor in group["flavors"]:
                for res in flavor["resources"]:
                    res["nominalQuota"] = _times(res["nominalQuota"], scale)
    (into / "default-queues.yaml").write_text(yaml.safe_dump_all(docs))
    out = into / f"default-x{scale}.yaml"
    out.write_text(yaml.safe_dump(body, sort_keys=False))
    return out


def run_once(scale: int, variant: str) -> tuple[float, float, int, int]:
    """Wall and CPU seconds of one run (CPU time is steadier on a shared machine)."""
    with tempfile.TemporaryDirectory() as tmp:
        twin = load_twin(scaled_scenario(scale, Path(tmp)))
    setup = next(v for v in twin.variants if v.name == variant)
    began, cpu = time.perf_counter(), time.process_time()
    run_variant(setup)
    wall = time.perf_counter() - began
    return wall, time.process_time() - cpu, len(setup.nodes), len(setup.workloads)


def _exponent(points: list[tuple[int, float]]) -> float:
    """Least-squares slope of log(time) on log(workloads)."""
    xs = [math.log(w) for w, _ in points]
    ys = [math.log(t) for _, t in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    num = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    return num / sum((x - mx) ** 2 for x in xs)


def twin_table(scales: list[int], repeat: int, variant: str) -> list[str]:
    lines = [
        f"| scale | nodes | workloads | {variant} wall s | CPU s | CPU ms per workload |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    walls, cpus = [], []
    for s in scales:
        runs = [run_once(s, variant) for _ in range(repeat)]
        wall = statistics.median(r[0] for r in runs)
        cpu = statistics.median(r[1] for r in runs)
        _, _, nodes, workloads = runs[0]
        walls.append((workloads, wall))
        cpus.append((workloads, cpu))
        lines.append(
            f"| {s}× | {nodes:,} | {workloads:,} | {wall:.1f} | {cpu:.1f} "
            f"| {cpu / workloads * 1e3:.2f} |"
        )
        print(lines[-1], flush=True)
    if len(cpus) >= 2:
        lines.append(
            f"\nfitted growth exponent (time ~ workloads^k): k = {_exponent(cpus):.2f} on CPU "
            f"time, {_exponent(walls):.2f} on wall time"
        )
        print(lines[-1], flush=True)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--nodes", default="10000,50000,100000")
    parser.add_argument("--scales", default="1,5,25")
    parser.add_argument("--variant", default="exclusive")
    parser.add_argument("--profile", type=int, default=None)
    args = parser.parse_args()
    if args.profile is not None:
        with tempfile.TemporaryDirectory() as tmp:
            twin = load_twin(scaled_scenario(args.profile, Path(tmp)))
        setup = next(v for v in twin.variants if v.name == args.variant)
        profiler = cProfile.Profile()
        profiler.runcall(run_variant, setup)
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
        return
    sizes = [int(x) for x in args.nodes.split(",") if x]
    scales = [int(x) for x in args.scales.split(",") if x]
    tables = []
    if sizes:
        tables.append("\n".join(build_table(sizes, args.repeat)))
    if scales:
        tables.append("\n".join(twin_table(scales, args.repeat, args.variant)))
    print("\n\n".join(tables))


if __name__ == "__main__":
    main()
