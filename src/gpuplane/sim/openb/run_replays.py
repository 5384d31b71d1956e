"""Many openb replays at once, spread over local cores, each binned as the published files are.

A job is (trace, policy, seed); each worker process reads the node list and a trace's pod list
once and keeps them for its later jobs. Results come back in job order, whatever order the
workers finish in, so a batch gives the same output on any number of cores.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from gpuplane.objects.node import Node
from gpuplane.objects.pod import Pod
from gpuplane.sim.openb.reader import GPU_NODE_FILE, openb_nodes, pod_list_file, read_openb_pods
from gpuplane.sim.openb.replay import PAPER_TUNE, replay
from gpuplane.sim.openb.results import Discrete, discrete

#: Where the trace lives unless told otherwise (the tests and the CLI read this variable).
DATA_ENV = "GPUPLANE_OPENB_DIR"


def default_data_dir() -> Path:
    """$GPUPLANE_OPENB_DIR, else ../shared/data/openb from the current directory."""
    return Path(os.environ.get(DATA_ENV, Path("..") / "shared" / "data" / "openb"))


@dataclass(frozen=True)
class Job:
    trace: str
    policy: str
    seed: int
    tune: float = PAPER_TUNE


@dataclass(frozen=True)
class JobResult:
    job: Job
    run: Discrete
    tasks: int
    failed: int
    seconds: float  # the replay itself, after the trace was read


@cache
def _nodes(data_dir: str) -> tuple[Node, ...]:
    return tuple(openb_nodes(Path(data_dir) / GPU_NODE_FILE))


@cache
def _pods(data_dir: str, trace: str) -> tuple[Pod, ...]:
    # Bad rows refuse the whole list here: a replay of a silently shortened trace would lie.
    return read_openb_pods(pod_list_file(data_dir, trace)).pods


def run_job(job: Job, data_dir: str) -> JobResult:
    """Read (once per process) and replay one job."""
    nodes, pods = _nodes(data_dir), _pods(data_dir, job.trace)
    start = time.perf_counter()
    result = replay(nodes, pods, job.policy, job.seed, tune=job.tune)
    seconds = time.perf_counter() - start
    return JobResult(job, discrete(job.trace, result), result.tasks, result.failed, seconds)


def _run_packed(args: tuple[Job, str]) -> JobResult:
    return run_job(*args)


def run_jobs(
    jobs: Sequence[Job],
    data_dir: str | Path,
    processes: int | None = None,
    progress: Callable[[JobResult], None] | None = None,
) -> list[JobResult]:
    """Replay every job, on `processes` worker processes (default: one per core)."""
    workers = max(1, min(processes or os.cpu_count() or 1, len(jobs)))
    packed = [(job, str(data_dir)) for job in jobs]
    results: list[JobResult] = []
    if workers == 1:
        for args in packed:
            results.append(_run_packed(args))
            if progress:
                progress(results[-1])
        return results
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for result in pool.map(_run_packed, packed):
            results.append(result)
            if progress:
                progress(result)
    return results
