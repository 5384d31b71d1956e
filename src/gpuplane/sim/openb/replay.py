"""The FGD paper's openb experiment, as a pure function: (nodes, tasks, policy, seed) -> curves.

The experiment, as the paper's artifact runs it:

1. The target workload M (for FGD and for the fragmentation figures) is taken from the trace's
   own tasks, before anything is resampled.
2. The tasks are sorted by name and shuffled with the seed.
3. The workload is tuned to `tune` (1.3) times the cluster's GPU capacity. Below it, tasks are
   drawn uniformly with replacement from the trace (sorted by name) and appended after the
   shuffled ones, until a draw whose share per GPU would carry the running GPU request past
   the target; that draw ends the tuning unused. (The check adds the share of one GPU while
   the running total then adds all the task's GPUs, as the artifact does; a multi-GPU draw
   can overshoot the target by a few GPUs.) Above it, randomly drawn tasks are removed until
   the request is at most the target.
4. The node list is permuted with the seed (the artifact renames nodes at random).
5. Tasks arrive one by one and never leave. Each goes through gpuplane's Scheduler (kube
   filters incl. NodeResourcesFit, then the policy's score, ties drawn from the seed); one
   that fits nowhere is counted as failed and dropped.
6. After every arrival the curves record: the GPU request arrived so far (failed tasks
   included), the GPU allocated (milli-GPU; shares count fractionally), the fragmentation
   F(M) in milli-GPU and the fragmentation ratio F(M) / free GPU in percent. The artifact
   logs the last two with two decimals, and so do we.

Every random step draws from one numpy Generator seeded with the seed, in the order above.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from gpuplane.cluster.state import ClusterState, IntArray
from gpuplane.objects.node import Node
from gpuplane.objects.pod import Pod
from gpuplane.placement import Placement, Scheduler, profile
from gpuplane.placement.fragmentation import (
    FragmentationMeter,
    gpu_share,
    shape_of,
    target_workload,
)

FloatArray = npt.NDArray[np.float64]

#: The paper's tuning: the workload's GPU request is brought to 130% of the cluster's.
PAPER_TUNE = 1.3


@dataclass(frozen=True)
class ReplayResult:
    """One run's curves, one entry per arriving task, and its totals."""

    policy: str
    seed: int
    tune: float
    total_gpus: int
    arrived_milli: IntArray
    used_milli: IntArray
    frag_milli: FloatArray
    frag_ratio: FloatArray
    failed: int

    @property
    def tasks(self) -> int:
        return int(self.arrived_milli.size)


def gpu_request_milli(pod: Pod) -> int:
    """A task's GPU request in milli-GPU: its share per GPU times its GPU count."""
    milli, count = gpu_share(pod.gpu)
    return milli * count


def arrivals(
    pods: Sequence[Pod], capacity_milli: int, rng: np.random.Generator, tune: float = PAPER_TUNE
) -> list[Pod]:
    """The arrival order: the tasks shuffled, then tuned to `tune` x capacity (see above).

    `tune` <= 0 keeps the shuffled tasks as they are.
    """
    by_name = sorted(pods, key=lambda p: p.name)
    shuffled = [by_name[i] for i in rng.permutation(len(by_name))]
    requested = sum(gpu_request_milli(p) for p in shuffled)
    if tune <= 0 or requested == 0:
        return shuffled  # nothing to tune (a CPU-only list could never reach the target)
    target = tune * capacity_milli
    if requested > target:
        while requested > target:
            gone = shuffled.pop(int(rng.integers(len(shuffled))))
            requested -= gpu_request_milli(gone)
        return shuffled
    out = list(shuffled)
    while True:
        drawn = by_name[int(rng.integers(len(by_name)))]
        # The artifact's check: the share of one GPU, not the task's whole request.
        if requested + gpu_share(drawn.gpu)[0] > target:
            break
        out.append(replace(drawn, name=f"{drawn.name}-tuned-{len(out) - len(shuffled)}"))
        requested += gpu_request_milli(drawn)
    return out


def replay(
    nodes: Sequence[Node],
    pods: Sequence[Pod],
    policy: str,
    seed: int,
    *,
    tune: float = PAPER_TUNE,
) -> ReplayResult:
    """Run the experiment once: every task of the tuned workload, in order, on `nodes`."""
    rng = np.random.default_rng(seed)
    workload = target_workload(shape_of(p) for p in pods)
    capacity = 1000 * sum(n.gpu_count for n in nodes)
    tasks = arrivals(pods, capacity, rng, tune)
    state = ClusterState([nodes[i] for i in rng.permutation(len(nodes))])
    scheduler = Scheduler(state, profile(policy), rng=rng, workload=workload)
    meter = FragmentationMeter(workload, state)

    n = len(tasks)
    arrived = np.zeros(n, dtype=np.int64)
    used = np.zeros(n, dtype=np.int64)
    frag = np.zeros(n, dtype=np.float64)
    ratio = np.zeros(n, dtype=np.float64)
    weight = float(workload.p.sum())
    arrived_total = used_total = failed = 0
    for k, task in enumerate(tasks):
        decision = scheduler.place(task)
        arrived_total += gpu_request_milli(task)
        if isinstance(decision, Placement):
            used_total += sum(decision.gpu_milli)
        else:
            failed += 1
        amount = meter.amount()
        idle = (capacity - used_total) * weight
        arrived[k], used[k] = arrived_total, used_total
        # Two decimals, as the artifact's log lines carry them.
        frag[k] = round(amount, 2)
        ratio[k] = round(100 * amount / idle, 2) if idle > 0 else 0.0
    return ReplayResult(
        policy=policy,
        seed=seed,
        tune=tune,
        total_gpus=capacity // 1000,
        arrived_milli=arrived,
        used_milli=used,
        frag_milli=frag,
        frag_ratio=ratio,
        failed=failed,
    )
