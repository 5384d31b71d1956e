"""How much memory a `gpuplane simulate` run will take, estimated before it starts.

A run holds, per variant in flight, every workload's record and pods and every node's state;
a scenario of a million arrivals took over 12 GB before anything said so. The figures below
were measured on the built-in scenario scaled 1x and 10x (`/usr/bin/time -v gpuplane simulate
--jobs 1`: 159 MB and 337 MB peak for 1,048 and 10,480 workloads): about 20 KB per workload
pod and a base of 150 MB, with a margin for nodes. The estimate is deliberately generous: it
only decides whether to refuse a run up front (the CLI's --force runs it anyway).
"""

from __future__ import annotations

from collections.abc import Sequence

from gpuplane.sim.twin.load import VariantSetup

BASE_BYTES = 150 * 2**20
PER_POD_BYTES = 20 * 2**10
PER_NODE_BYTES = 64 * 2**10


def run_bytes(setups: Sequence[VariantSetup], jobs: int) -> int:
    """Peak memory of running `setups`, `jobs` variants at a time, in bytes."""
    each = sorted((variant_bytes(s) for s in setups), reverse=True)
    return BASE_BYTES + sum(each[: max(1, jobs)])


def variant_bytes(setup: VariantSetup) -> int:
    pods = sum(len(w.pods()) for w in setup.workloads)
    return pods * PER_POD_BYTES + len(setup.nodes) * PER_NODE_BYTES
