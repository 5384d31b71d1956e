"""Same inputs and seed, same run bit for bit: in one process, and across processes.

Python randomises string hashing per process (PYTHONHASHSEED), so anything that iterates a
set of names in an order that matters makes two processes disagree; the cross-process tests
run fresh interpreters with different hash seeds to catch exactly that.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

from gpuplane.sim.core.metrics import Report
from gpuplane.sim.twin.load import load_twin
from gpuplane.sim.twin.run_variants import variant_queueing, variant_simulator

from helpers import EXAMPLES, TESTS

SCENARIO = EXAMPLES / "queueing" / "scenario.yaml"

SCENARIO_RUN = """
import hashlib, sys
from gpuplane.sim.twin.run_variants import variant_queueing, variant_simulator
from gpuplane.sim.twin.load import load_twin
setup = load_twin(sys.argv[1]).variants[2]
report = variant_simulator(setup, variant_queueing(setup)).run()
print(hashlib.sha256((repr(report) + repr(report.series)).encode()).hexdigest())
"""

# Four equal workloads, admitted together; a higher-priority one needs the room of one.
TIE_RUN = """
from gpuplane.objects.queues import Preemption, WithinClusterQueue
from gpuplane.sim.core.simulator import Simulator
from queueing_helpers import cq, engine, job
within = Preemption(within_cluster_queue=WithinClusterQueue.LOWER_PRIORITY)
sim = Simulator(engine([cq("q", 8, preemption=within)], nodes=1))
sim.submit([job(f"v{i}", "q", gpus_per_pod=2, duration=100) for i in range(4)]
           + [job("high", "q", gpus_per_pod=2, priority=10, created=10, duration=10)])
sim.run()
print([k for k, r in sim.records.items() if r.evictions])
"""

# Quota-only admission: four 8-GPU jobs admitted at once, room for one at a time.
QUOTA_ONLY_RUN = """
from gpuplane.sim.core.simulator import Simulator
from queueing_helpers import cq, engine, job

from helpers import TESTS
sim = Simulator(engine([cq("q", 32)], nodes=1, placement_aware=False))
sim.submit([job(f"w{i}", "q", gpus_per_pod=8, duration=100) for i in range(4)])
sim.run()
print(sorted((r.finished, k) for k, r in sim.records.items()))
"""


def fingerprint(report: Report) -> str:
    # repr spells every float exactly; the series is left out of the Report's repr.
    return hashlib.sha256((repr(report) + repr(report.series)).encode()).hexdigest()


def in_fresh_processes(script: str, *args: str) -> dict[str, str]:
    """What `script` prints, run with PYTHONHASHSEED 0 to 3 (tests/ importable)."""
    outputs = {}
    for hash_seed in ("0", "1", "2", "3"):
        path = os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": path}
        out = subprocess.run(
            [sys.executable, "-c", script, *args],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        outputs[hash_seed] = out.stdout.strip()
    return outputs


def fair_preemption(seed: int | None = None, scale: float = 1.0) -> Report:
    """The three-teams scenario's fair-preemption variant, run until every workload ends."""
    setup = load_twin(SCENARIO, seed=seed, scale=scale).variants[2]
    assert setup.name == "fair-preemption"
    return variant_simulator(setup, variant_queueing(setup)).run()


def test_the_same_seed_gives_the_same_run_and_another_seed_another() -> None:
    one = fair_preemption(seed=5, scale=0.3)
    two = fair_preemption(seed=5, scale=0.3)
    other = fair_preemption(seed=6, scale=0.3)
    assert fingerprint(one) == fingerprint(two)
    assert fingerprint(one) != fingerprint(other)


def test_the_scenario_runs_alike_whatever_the_hash_seed() -> None:
    outputs = in_fresh_processes(SCENARIO_RUN, str(SCENARIO))
    here = fingerprint(fair_preemption())
    assert set(outputs.values()) == {here}, outputs


def test_equally_cheap_victims_are_chosen_alike_whatever_the_hash_seed() -> None:
    outputs = in_fresh_processes(TIE_RUN)
    assert len(set(outputs.values())) == 1, outputs


def test_quota_only_placement_order_is_alike_whatever_the_hash_seed() -> None:
    outputs = in_fresh_processes(QUOTA_ONLY_RUN)
    assert len(set(outputs.values())) == 1, outputs
