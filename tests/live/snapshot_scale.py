"""A large cluster on the fake API for the snapshot at scale (bench/snapshot.py and its test).

`large_cluster(fake, nodes, pods)`: nodes in three pools (H100 x 8 for training, L4 x 4 for
serving, CPU), and `pods` pods, 70% running (GPU Job pods, L4 servers, CPU pods), 5% waiting,
25% finished (the history), beside Jobs for the running and finished Job pods and a few
suspended ones. Seeded; objects go straight into the store (not validated one by one: that
would cost a millisecond each).
"""

from __future__ import annotations

import random

from fakeapi import FakeApiServer
from snapshot_helpers import H100, L4, NOW, job, kueue_objects, node, pod, put, serve_snapshot_kinds

DAY = 86400.0


def large_cluster(fake: FakeApiServer, nodes: int = 500, pods: int = 20_000) -> None:
    rng = random.Random(7)
    serve_snapshot_kinds(fake)
    for obj in kueue_objects():
        put(fake, obj)
    h100 = [f"h100-{i:04d}" for i in range(nodes * 6 // 10)]
    l4 = [f"l4-{i:04d}" for i in range(nodes * 3 // 10)]
    cpu = [f"cpu-{i:04d}" for i in range(nodes - len(h100) - len(l4))]
    for name in h100:
        put(fake, node(name, {**H100, "karpenter.sh/nodepool": "train"}, gpus=8), check=False)
    for name in l4:
        put(fake, node(name, {**L4, "karpenter.sh/nodepool": "serve"}, gpus=4), check=False)
    for name in cpu:
        put(fake, node(name, {"karpenter.sh/nodepool": "general"}, cpu="96"), check=False)
    running, waiting = int(pods * 0.70), int(pods * 0.05)
    finished = pods - running - waiting
    gpu_jobs = min(running // 7, len(h100) * 4)
    servers = min(running // 14, len(l4) * 2)
    for i in range(gpu_jobs):
        started = NOW - rng.uniform(0, 6 * 3600)
        put(fake, job(f"run-{i}", "research", queue="train", gpus=1, started=started),
            check=False)
        put(fake, pod(f"run-{i}-0", "research", gpus=1, node_name=h100[i % len(h100)],
                      phase="Running", queue="train", job=f"run-{i}", started=started),
            check=False)
    for i in range(servers):
        put(fake, pod(f"web-{i}", "serving", gpus=1, node_name=l4[i % len(l4)],
                      phase="Running", job="web", owner_kind="ReplicaSet",
                      started=NOW - DAY), check=False)
    hosts = h100 + l4 + cpu
    for i in range(running - gpu_jobs - servers):
        put(fake, pod(f"cpu-{i}", f"team-{i % 20}", node_name=hosts[i % len(hosts)],
                      phase="Running", job="svc", owner_kind="ReplicaSet",
                      started=NOW - DAY), check=False)
    for i in range(waiting):
        put(fake, pod(f"wait-{i}", "research", gpus=rng.choice((1, 2, 4)), queue="train"),
            check=False)
    for i in range(20):
        put(fake, job(f"queued-{i}", "research", queue="train", gpus=8, pods=2, suspend=True),
            check=False)
    for i in range(finished):
        created = NOW - 2 * DAY + rng.uniform(0, 2 * DAY - 4 * 3600)
        start = created + rng.uniform(0, 600)
        end = start + rng.lognormvariate(8.0, 0.8)
        put(fake, pod(f"done-{i}", "research", gpus=rng.choice((1, 1, 2)), phase="Succeeded",
                      queue="train", started=start, finished=end), created=created, check=False)
