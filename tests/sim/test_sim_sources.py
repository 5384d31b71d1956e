"""Workloads from manifests, from generators, and from the openb trace replayed in time."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from gpuplane.cluster.state import ClusterState
from gpuplane.errors import InputError
from gpuplane.objects import read_manifests, read_text
from gpuplane.objects.gpu_request import GpuKind
from gpuplane.objects.queues import ClusterQueue, LocalQueue
from gpuplane.placement import Scheduler
from gpuplane.queueing import Queueing, QueueingConfig, manifest_workloads, queueing_config
from gpuplane.sim.core.durations import EmpiricalDurations, default_philly_dir, philly_durations
from gpuplane.sim.core.generators import Choice, Fixed, LogNormal, Team, WorkloadKind, generate
from gpuplane.sim.core.simulator import Simulator
from gpuplane.sim.openb.reader import GPU_NODE_FILE, openb_nodes, pod_list_file
from gpuplane.sim.openb.source import openb_workloads, read_openb_times

from helpers import EXAMPLES
from queueing_helpers import cq

QUEUEING_EXAMPLE = EXAMPLES / "queueing"
OPENB = Path(os.environ.get("GPUPLANE_OPENB_DIR", Path("..") / "shared" / "data" / "openb"))

JOBS = """\
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: high}
value: 900
---
apiVersion: kueue.x-k8s.io/v1beta1
kind: WorkloadPriorityClass
metadata: {name: urgent}
value: 5000
---
apiVersion: batch/v1
kind: Job
metadata:
  name: train
  namespace: ml
  labels: {kueue.x-k8s.io/queue-name: research, kueue.x-k8s.io/priority-class: urgent}
  annotations: {gpuplane.io/duration: 2h30m, gpuplane.io/checkpoint-interval: 15m}
spec:
  parallelism: 4
  completions: 8
  template:
    spec:
      restartPolicy: Never
      priorityClassName: high
      containers:
      - name: c
        image: x
        resources: {limits: {nvidia.com/gpu: 8}}
---
apiVersion: v1
kind: Pod
metadata:
  name: notebook
  namespace: ml
  annotations: {kueue.x-k8s.io/queue-name: research, gpuplane.io/duration: "600"}
spec:
  priorityClassName: high
  containers:
  - name: c
    image: x
    resources: {limits: {nvidia.com/gpu: 1}}
"""


# -- manifests ---------------------------------------------------------------------------------


def test_a_job_is_one_workload_with_one_podset_of_its_parallel_pods() -> None:
    train, notebook = manifest_workloads(read_text(JOBS), at=100, spacing=10)
    assert train.key == "ml/train"
    assert train.queue == "research"
    assert [(ps.name, ps.count) for ps in train.pod_sets] == [("main", 4)]
    assert train.pod_sets[0].template.gpu.count == 8
    assert (train.duration, train.checkpoint_interval) == (9000, 900)
    assert train.priority == 5000  # the WorkloadPriorityClass wins over the pod's class
    assert train.created == 100
    # A bare pod: its queue from the old annotation, its priority from its PriorityClass.
    assert (notebook.key, notebook.queue, notebook.pod_count) == ("ml/notebook", "research", 1)
    assert (notebook.duration, notebook.checkpoint_interval) == (600, None)
    assert notebook.priority == 900
    assert notebook.created == 110


def test_the_example_scenario_reads_into_an_admission_setup() -> None:
    example = QUEUEING_EXAMPLE
    manifests = read_manifests([example / "queues.yaml", example / "services.yaml"])
    config = queueing_config(manifests)
    assert [q.name for q in config.cluster_queues] == ["research", "product", "platform"]
    assert {q.cohort for q in config.cluster_queues} == {"org"}
    services = manifest_workloads(manifests)
    assert [(w.key, w.pod_count, w.duration, w.priority) for w in services] == [
        ("product/chat-llm", 4, 36 * 3600, 1000),
        ("product/embeddings", 2, 36 * 3600, 1000),
    ]


def test_manifests_without_queues_are_refused() -> None:
    with pytest.raises(InputError, match="no ClusterQueue"):
        queueing_config(read_text(JOBS))


# -- generators --------------------------------------------------------------------------------

TRAIN = WorkloadKind("train", Choice((2.0, 4.0)), Fixed(8), LogNormal(3600, 0.5, 600, 7200))
NOTEBOOK = WorkloadKind("nb", Fixed(1), Fixed(1), Fixed(900), gpu_milli=500, priority=7)
TEAMS = [Team("a", "qa", (TRAIN,), weight=1), Team("b", "qb", (TRAIN, NOTEBOOK), weight=3)]


def test_generation_is_seeded_and_reproducible() -> None:
    one = generate(TEAMS, np.random.default_rng(3), count=50, rate=0.01)
    two = generate(TEAMS, np.random.default_rng(3), count=50, rate=0.01)
    other = generate(TEAMS, np.random.default_rng(4), count=50, rate=0.01)
    assert one == two
    assert one != other


def test_generated_workloads_follow_the_mix() -> None:
    ws = generate(TEAMS, np.random.default_rng(1), count=2000, rate=0.5, start=100, prefix="x")
    times = [w.created for w in ws]
    assert times == sorted(times) and times[0] > 100
    # Poisson arrivals at 0.5/s: 2000 of them take about 4000 s.
    assert 3600 < times[-1] - 100 < 4400
    share_b = sum(w.namespace == "b" for w in ws) / len(ws)
    assert 0.72 < share_b < 0.78
    for w in ws:
        ps = w.pod_sets[0]
        if "-train" in w.key:
            assert ps.count in (2, 4) and ps.template.gpu.count == 8
            assert 600 <= (w.duration or 0) <= 7200
        else:
            assert ps.template.gpu.kind is GpuKind.FRACTION and ps.template.gpu.milli == 500
            assert (w.duration, w.priority) == (900, 7)
    assert len({w.key for w in ws}) == len(ws)
    assert ws[0].key.split("/")[1].startswith("x-0-")


def test_choice_draws_in_proportion_to_its_weights() -> None:
    rng = np.random.default_rng(0)
    law = Choice((1.0, 2.0, 3.0), (1.0, 0.0, 3.0))
    draws = [law.sample(rng) for _ in range(4000)]
    assert 2.0 not in draws
    assert 0.72 < draws.count(3.0) / len(draws) < 0.78


# -- durations and the openb trace -------------------------------------------------------------


def test_empirical_durations_draw_only_what_was_seen_and_respect_a_floor() -> None:
    law = EmpiricalDurations([10, 20, 30, 1000])
    rng = np.random.default_rng(0)
    assert {law.sample(rng) for _ in range(200)} == {10, 20, 30, 1000}
    assert {law.sample(rng, at_least=25) for _ in range(200)} == {30, 1000}
    assert law.sample(rng, at_least=5000) == 5000  # longer than anything seen: itself
    with pytest.raises(ValueError):
        EmpiricalDurations([])


TRACE = """\
name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time
t-2,1000,1024,1,1000,,LS,Succeeded,50,400,100
t-1,1000,1024,1,500,,BE,Running,10,1000,20
t-3,1000,1024,2,1000,,BE,Pending,70,900,
t-4,1000,1024,0,0,,LS,Failed,80,95,90
"""


def test_openb_tasks_arrive_at_creation_and_last_their_true_or_modelled_time(
    tmp_path: Path,
) -> None:
    path = tmp_path / "openb_pod_list_tiny.csv"
    path.write_text(TRACE)
    model = EmpiricalDurations([5, 500, 5000])
    ws = openb_workloads(path, model, np.random.default_rng(0), queue={"LS": "ls", "BE": "be"})
    assert [w.key for w in ws] == ["openb/t-1", "openb/t-2", "openb/t-3", "openb/t-4"]
    by = {w.key: w for w in ws}
    assert [w.created for w in ws] == [10, 50, 70, 80]
    assert by["openb/t-2"].duration == 300  # ended: deletion - scheduled
    assert by["openb/t-4"].duration == 5
    assert by["openb/t-1"].duration == 5000  # still running after 980 s: only 5000 is as long
    assert by["openb/t-3"].duration in (5, 500, 5000)  # never ran: any
    assert [w.queue for w in ws] == ["be", "ls", "be", "ls"]
    assert by["openb/t-3"].pod_sets[0].template.gpu.count == 2
    assert read_openb_times(path)["t-3"].scheduled is None


def test_a_pod_list_without_times_cannot_be_replayed_in_time(tmp_path: Path) -> None:
    path = tmp_path / "openb_pod_list_multigpu.csv"
    path.write_text("name,cpu_milli,memory_mib,num_gpu,gpu_milli\nt,1000,1024,1,1000\n")
    with pytest.raises(InputError, match="cannot be replayed in time"):
        read_openb_times(path)


@pytest.mark.skipif(
    not (default_philly_dir() / "philly_runtime.csv").exists(), reason="no Philly data"
)
def test_the_philly_distribution_loads() -> None:
    law = philly_durations()
    assert law.values.size == 83_154
    assert float(np.median(law.values)) == pytest.approx(1186, rel=0.01)


@pytest.mark.skipif(
    not (OPENB / GPU_NODE_FILE).exists()
    or not (default_philly_dir() / "philly_runtime.csv").exists(),
    reason="no openb or Philly data",
)
def test_the_openb_trace_replays_in_time_through_the_simulator() -> None:
    nodes = openb_nodes(OPENB / GPU_NODE_FILE)
    ws = openb_workloads(
        pod_list_file(OPENB, "default"), philly_durations(), np.random.default_rng(0), limit=400
    )
    queue: ClusterQueue = cq("openb", 100_000)
    config = QueueingConfig([queue], [LocalQueue("default", "openb", "openb")])
    sim = Simulator(Queueing(Scheduler(ClusterState(nodes)), config))
    sim.submit(ws)
    report = sim.run()
    assert report.submitted == 400
    assert report.finished == 400
    assert report.gpu_hours_used > 0
    # Tasks start when they are created: the cluster is nearly empty.
    assert report.wait.p50 == 0
