"""Kueue and Volcano manifests turned into admission: config, gangs, the twin end to end."""

from __future__ import annotations

import pytest

from gpuplane.catalog.resources import GPU
from gpuplane.errors import InputError
from gpuplane.objects import read_text
from gpuplane.queueing import manifest_workloads, queueing_config
from gpuplane.queueing.manifests import COHORT
from gpuplane.sim.twin.load import load_twin
from gpuplane.sim.twin.run_variants import run_variants

from helpers import EXAMPLES

VOLCANO_EXAMPLE = EXAMPLES / "volcano" / "scenario.yaml"

QUEUE = """\
apiVersion: scheduling.volcano.sh/v1beta1
kind: Queue
metadata: {name: training}
spec: {weight: 2, deserved: {nvidia.com/gpu: 8}, capability: {nvidia.com/gpu: 16}}
"""


def pod(name: str, group: str | None, gpus: int = 2, duration: str = "1h") -> str:
    note = f"    scheduling.k8s.io/group-name: {group}\n" if group else ""
    return f"""\
---
apiVersion: v1
kind: Pod
metadata:
  name: {name}
  namespace: ml
  annotations:
{note}    gpuplane.io/duration: {duration}
spec:
  containers:
  - name: c
    image: x
    resources: {{limits: {{nvidia.com/gpu: {gpus}}}}}
"""


GROUP = """\
---
apiVersion: scheduling.volcano.sh/v1beta1
kind: PodGroup
metadata: {name: train, namespace: ml}
spec: {minMember: 2, queue: training}
"""


def test_pod_group_members_are_one_gang_where_the_first_member_stands() -> None:
    text = QUEUE + GROUP + pod("solo", None) + pod("w0", "train") + pod("w1", "train", 4, "3h")
    manifests = read_text(text)
    solo, gang = manifest_workloads(manifests, at=10.0, spacing=5.0)
    assert (solo.key, solo.created) == ("ml/solo", 10.0)
    assert (gang.key, gang.queue, gang.created, gang.pod_count) == ("ml/train", "training", 15.0, 2)
    assert gang.duration == 3 * 3600.0  # the longest member's
    config = queueing_config(manifests, [solo, gang])
    (cq,) = config.cluster_queues
    assert cq.cohort == COHORT and config.fair_sharing
    quota = cq.resource_groups[0].flavors[0].resources[GPU]
    assert (quota.nominal, quota.borrowing_limit) == (8000, 8000)
    assert [(lq.name, lq.namespace) for lq in config.local_queues] == [("training", "ml")]


def test_a_pod_naming_a_missing_pod_group_is_refused_with_its_line() -> None:
    with pytest.raises(InputError, match="PodGroup nope") as err:
        manifest_workloads(read_text(QUEUE + pod("w0", "nope"), "jobs.yaml"))
    assert err.value.where.file == "jobs.yaml" and err.value.where.line == 6


def test_kueue_and_volcano_queues_together_are_refused() -> None:
    kueue = """\
---
apiVersion: kueue.x-k8s.io/v1beta1
kind: ClusterQueue
metadata: {name: cq}
spec:
  resourceGroups:
  - coveredResources: [nvidia.com/gpu]
    flavors: [{name: f, resources: [{name: nvidia.com/gpu, nominalQuota: 8}]}]
"""
    with pytest.raises(InputError, match="both Kueue ClusterQueues and Volcano Queues"):
        queueing_config(read_text(QUEUE + kueue))


def test_the_volcano_example_runs_through_the_twin() -> None:
    twin = load_twin(VOLCANO_EXAMPLE)
    proportion = twin.variants[0]
    gang = next(w for w in proportion.workloads if w.key == "research/llm-pretrain")
    assert gang.pod_count == 3 and gang.queue == "training"
    assert {cq.name for cq in proportion.config.cluster_queues} == {"training", "serving"}
    shared, strict = (r.report for r in run_variants(twin.variants, jobs=1))
    assert shared.gpu_hours_borrowed > 0 and strict.gpu_hours_borrowed == 0
    assert shared.finished > 0 and strict.finished > 0
