"""Kueue's v1beta1 -> v1beta2 conversion, ported as manifests gpuplane must read alike.

Upstream: kubernetes-sigs/kueue, apis/kueue/v1beta1/clusterqueue_conversion.go,
cohort_conversion.go and apis/kueue/v1beta2/clusterqueue_types.go (flavorFungibility enums
and defaults) at commit ff69552e79ad21652c36caa97038382e55625cf7.
"""

from __future__ import annotations

import pytest

from gpuplane.errors import InputError
from gpuplane.objects.queues import FungibilityPolicy
from gpuplane.objects.reader import read_text

CQ = """apiVersion: kueue.x-k8s.io/{version}
kind: ClusterQueue
metadata: {{name: cq}}
spec:
  {cohort}: team
  namespaceSelector: {{}}
  {extra}
  resourceGroups:
  - coveredResources: [cpu]
    flavors:
    - name: default
      resources:
      - {{name: cpu, nominalQuota: 4}}
"""
MAY, TRY = FungibilityPolicy.MAY_STOP_SEARCH, FungibilityPolicy.TRY_NEXT_FLAVOR

CASES = [
    # (name, version, cohort key, extra, want borrow policy, want preempt policy)
    ("v1beta1 cohort becomes v1beta2 cohortName", "v1beta2", "cohortName", "", MAY, TRY),
    ("v1beta1 cohort still read", "v1beta1", "cohort", "", MAY, TRY),
    ("WhenCanBorrow Borrow converts to MayStopSearch", "v1beta1", "cohort",
     "flavorFungibility: {whenCanBorrow: Borrow, whenCanPreempt: TryNextFlavor}", MAY, TRY),
    ("WhenCanPreempt Preempt converts to MayStopSearch", "v1beta1", "cohort",
     "flavorFungibility: {whenCanBorrow: TryNextFlavor, whenCanPreempt: Preempt}", TRY, MAY),
    ("v1beta2 values", "v1beta2", "cohortName",
     "flavorFungibility: {whenCanBorrow: TryNextFlavor, whenCanPreempt: MayStopSearch}", TRY, MAY),
]


@pytest.mark.parametrize(("name", "version", "cohort", "extra", "borrow", "preempt"), CASES,
                         ids=[c[0] for c in CASES])
def test_conversion(name: str, version: str, cohort: str, extra: str,
                    borrow: FungibilityPolicy, preempt: FungibilityPolicy) -> None:
    (queue,) = read_text(CQ.format(version=version, cohort=cohort, extra=extra)).cluster_queues
    assert queue.cohort == "team"
    assert queue.flavor_fungibility.when_can_borrow is borrow
    assert queue.flavor_fungibility.when_can_preempt is preempt


REFUSED = [
    ("v1beta2 has no spec.cohort", "v1beta2", "cohort", ""),
    ("v1beta2 has no Borrow value", "v1beta2", "cohortName",
     "flavorFungibility: {whenCanBorrow: Borrow}"),
    ("preference needs both TryNextFlavor", "v1beta2", "cohortName",
     "flavorFungibility: {preference: PreemptionOverBorrowing}"),
]


@pytest.mark.parametrize(("name", "version", "cohort", "extra"), REFUSED,
                         ids=[c[0] for c in REFUSED])
def test_refused(name: str, version: str, cohort: str, extra: str) -> None:
    with pytest.raises(InputError):
        read_text(CQ.format(version=version, cohort=cohort, extra=extra))
