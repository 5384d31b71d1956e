"""What-if placements in the admission engine leave no trace on the cluster."""

from __future__ import annotations

from gpuplane.cluster import ClusterState
from gpuplane.objects.gpu_request import GpuKind, GpuRequest
from gpuplane.objects.queues import (
    ClusterQueue,
    FlavorQuotas,
    LocalQueue,
    ResourceFlavor,
    ResourceGroup,
    ResourceQuotaSpec,
)
from gpuplane.placement import Scheduler
from gpuplane.queueing import PodSet, Queueing, QueueingConfig, Workload
from gpuplane.sharing import GpuSharing, MigStrategy, NodeSharing, SharingKind

from helpers import gpu_node, pod

MIG_7G = "nvidia.com/mig-7g.80gb"


def _dynamic_mig_engine() -> Queueing:
    sharing = NodeSharing(
        GpuSharing(SharingKind.MIG, mig_layout=("1g.10gb",) * 7),
        mig_strategy=MigStrategy.MIXED,
        dynamic_mig=True,
    )
    state = ClusterState([gpu_node("n", 1, "NVIDIA-A100-SXM4-80GB", sharing=sharing)])
    resources = {
        "cpu": ResourceQuotaSpec(1_000_000),
        "memory": ResourceQuotaSpec(10_000_000),
        MIG_7G: ResourceQuotaSpec(8),
    }
    group = ResourceGroup(tuple(resources), (FlavorQuotas("default", resources),))
    config = QueueingConfig(
        [ClusterQueue("cq", (group,))],
        [LocalQueue("lq", "ns", "cq")],
        (ResourceFlavor("default"),),
    )
    return Queueing(Scheduler(state), config)


def _mig_gang(name: str, pods: int, duration: float | None = None) -> Workload:
    request = GpuRequest(GpuKind.MIG, count=1, mig_profile="7g.80gb", resource=MIG_7G)
    template = pod("t", request)
    pod_sets = (PodSet("main", template, pods),)
    return Workload(f"ns/{name}", "ns", "lq", pod_sets, duration=duration)


def test_refused_mig_gang_leaves_the_gpu_layout_and_log_unchanged() -> None:
    q = _dynamic_mig_engine()
    state = q.state
    before = dict(state.mig_layouts[0])
    assert q.submit(_mig_gang("pair", 2), 0.0) is None
    result = q.cycle(0.0)
    assert not result.admitted and q.pending == 1
    # The first pod fitted only after reshaping the GPU to one 7g.80gb; the second found
    # nothing, so the gang was refused and the reshape must be gone with it.
    assert state.mig_layouts[0] == before
    assert state.mig_reconfigurations == []
    assert not state.bindings
    state.check_invariants()
    # A single pod of the same profile still gets in (it ends before the refused gang's
    # reservation, which has no known start), reshaping the GPU for real.
    assert q.submit(_mig_gang("one", 1, duration=10.0), 1.0) is None
    assert [a.workload.key for a in q.cycle(1.0).admitted] == ["ns/one"]
    assert len(state.mig_reconfigurations) == 1
