"""The examples of Kueue's concept docs, as v1beta2 manifests gpuplane reads and admits.

Upstream: kubernetes-sigs/kueue, site/content/en/docs/concepts/cluster_queue.md (the sample
ClusterQueue with a pods quota; the borrowing, borrowingLimit and lendingLimit examples) at
commit ff69552e79ad21652c36caa97038382e55625cf7. The manifests carry the docs' numbers; each
case admits CPU-only workloads in quota-only mode and checks the most the doc says fits.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from gpuplane.cluster import ClusterState
from gpuplane.objects.reader import read_text
from gpuplane.placement import Scheduler
from gpuplane.queueing import PodSet, Queueing, Workload, queueing_config

from helpers import cpu_node, pod


def _cq(name: str, cpu: str, extra: str = "", covered: str = "cpu", more: str = "") -> str:
    return f"""apiVersion: kueue.x-k8s.io/v1beta2
kind: ClusterQueue
metadata: {{name: {name}}}
spec:
  namespaceSelector: {{}}
  {extra}
  resourceGroups:
  - coveredResources: [{covered}]
    flavors:
    - name: default-flavor
      resources:
      - {{name: cpu, nominalQuota: {cpu}{more}}}
"""


def _lq(name: str, cq: str) -> str:
    return (
        "apiVersion: kueue.x-k8s.io/v1beta2\nkind: LocalQueue\n"
        f"metadata: {{name: {name}, namespace: ns}}\nspec: {{clusterQueue: {cq}}}\n"
    )


FLAVOR = (
    "apiVersion: kueue.x-k8s.io/v1beta2\nkind: ResourceFlavor\nmetadata: {name: default-flavor}\n"
)
SAMPLE = (
    "apiVersion: kueue.x-k8s.io/v1beta2\nkind: ClusterQueue\nmetadata: {name: cluster-queue}\n"
    "spec:\n  namespaceSelector: {}\n  resourceGroups:\n"
    "  - coveredResources: [cpu, memory, pods]\n    flavors:\n    - name: default-flavor\n"
    "      resources:\n      - {name: cpu, nominalQuota: 9}\n"
    "      - {name: memory, nominalQuota: 36Gi}\n      - {name: pods, nominalQuota: 5}\n"
)
A_B = _cq("team-a-cq", "9", "cohortName: team-ab") + "---\n" + _cq(
    "team-b-cq", "12", "cohortName: team-ab"
)
BORROWING_LIMIT = (
    _cq("team-a-cq", "9", "cohortName: team-ab", more=", borrowingLimit: 1")
    + "---\n"
    + _cq("team-b-cq", "12", "cohortName: team-ab")
)
LENDING_LIMIT = (
    _cq("team-a-cq", "9", "cohortName: team-ab")
    + "---\n"
    + _cq("team-b-cq", "12", "cohortName: team-ab", more=", lendingLimit: 1")
)


def _engine(text: str) -> Queueing:
    manifests = read_text(text + "---\n" + FLAVOR + "---\n" + _lq("a", "team-a-cq")
                          + "---\n" + _lq("b", "team-b-cq") + "---\n" + _lq("s", "cluster-queue"))
    config = replace(queueing_config(manifests), placement_aware=False)
    state = ClusterState([cpu_node(f"n{i}") for i in range(4)])
    return Queueing(Scheduler(state), config)


def _w(name: str, queue: str, pods: int, cpu: int, memory_mib: int = 0) -> Workload:
    template = pod("t", cpu_milli=cpu * 1000, memory_mib=memory_mib)
    return Workload(f"ns/{name}", "ns", queue, (PodSet("main", template, pods),))


CASES = [
    # (name, manifests, local queue, pods, cpu per pod, memory MiB per pod, admitted)
    ("sample: 5 pods of 1 cpu fit the pods quota", SAMPLE, "s", 5, 1, 0, True),
    ("sample: a 6th pod exceeds the pods quota", SAMPLE, "s", 6, 1, 0, False),
    ("sample: 9 cpu fit", SAMPLE, "s", 1, 9, 0, True),
    ("sample: 10 cpu exceed the cpu quota", SAMPLE, "s", 1, 10, 0, False),
    ("sample: 36Gi fit", SAMPLE, "s", 1, 1, 36 * 1024, True),
    ("sample: above 36Gi exceeds the memory quota", SAMPLE, "s", 1, 1, 36 * 1024 + 1, False),
    ("borrowing: team-a admits up to 12+9 cpu while team-b is idle", A_B, "a", 21, 1, 0, True),
    ("borrowing: team-a cannot exceed 12+9 cpu", A_B, "a", 22, 1, 0, False),
    ("borrowingLimit: team-a admits up to 9+1 cpu", BORROWING_LIMIT, "a", 10, 1, 0, True),
    ("borrowingLimit: team-a cannot exceed 9+1 cpu", BORROWING_LIMIT, "a", 11, 1, 0, False),
    ("borrowingLimit: team-b without one can use 12+9 cpu", BORROWING_LIMIT, "b", 21, 1, 0, True),
    ("lendingLimit: team-a admits up to 9+1 cpu", LENDING_LIMIT, "a", 10, 1, 0, True),
    ("lendingLimit: team-a cannot exceed 9+1 cpu", LENDING_LIMIT, "a", 11, 1, 0, False),
    ("lendingLimit: team-b can use 12+9 cpu", LENDING_LIMIT, "b", 21, 1, 0, True),
]


@pytest.mark.parametrize(("name", "text", "queue", "pods", "cpu", "memory", "want"), CASES,
                         ids=[c[0] for c in CASES])
def test_cluster_queue_examples(name: str, text: str, queue: str, pods: int, cpu: int,
                                memory: int, want: bool) -> None:
    e = _engine(text)
    # One pod a workload: quota adds up across workloads, as the docs' sums do.
    for i in range(pods):
        assert e.submit(_w(f"w{i}", queue, 1, cpu, memory), 0.0) is None
    admitted = len(e.cycle(0.0).admitted)
    assert (admitted == pods) is want


def test_borrowing_example_nominal_quota_of_team_b_is_met_first() -> None:
    e = _engine(A_B)
    for i in range(9):
        e.submit(_w(f"a{i}", "a", 1, 1), 0.0)
    e.cycle(0.0)
    # team-a is at its nominal quota; its next workload would borrow. team-b's, which fits
    # team-b's nominal quota, is admitted first though it came later.
    e.submit(_w("a-more", "a", 1, 12), 1.0)
    e.submit(_w("b-first", "b", 1, 12), 2.0)
    assert [a.workload.key for a in e.cycle(2.0).admitted] == ["ns/b-first"]
