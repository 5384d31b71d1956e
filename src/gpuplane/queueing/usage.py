"""Admitted usage: the workloads admitted, the quota they hold, and namespace ResourceQuota.

ClusterQueue quota is accounted in the QuotaTree (flavor, resource) by (flavor, resource).
A namespace ResourceQuota caps what all admitted workloads of a namespace request, in the
quota's own units: `pods` counts pods, `requests.nvidia.com/gpu` GPUs (milli-GPU summed,
then rounded up to whole GPUs), `requests.cpu` millicores, `requests.memory` MiB.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from gpuplane.catalog.resources import GPU
from gpuplane.objects.policy import ResourceQuota
from gpuplane.placement.scheduler import Placement
from gpuplane.queueing.quota import FlavorResource, QuotaTree
from gpuplane.queueing.running import Running, RunningIndex
from gpuplane.queueing.workload import Workload


@dataclass
class Active:
    """An admitted workload: its queue, the quota it holds, where its pods run."""

    workload: Workload
    queue: str
    amounts: dict[FlavorResource, int]
    flavors: Mapping[str, str]
    placements: list[Placement]
    admitted_at: float
    borrowing: bool

    def lost_work(self, now: float) -> float:
        """Seconds of work lost if stopped now (see `Running.lost_work`)."""
        return Running(self.workload, self.queue, self.admitted_at).lost_work(now)


class AdmittedUsage:
    """Who is admitted, and what they hold of ClusterQueue quota and namespace quota."""

    def __init__(
        self, tree: QuotaTree, queues: Sequence[str], quotas: Sequence[ResourceQuota] = ()
    ) -> None:
        self.tree = tree
        self.active: dict[str, Active] = {}
        #: The admitted workloads of each queue by priority, for victim searches.
        self.running = RunningIndex(queues)
        #: Admitted by quota alone, pods not placed yet (only in quota-only mode).
        self.unplaced: set[str] = set()
        self.ns_quota: dict[str, dict[str, int]] = {}
        for rq in quotas:
            self.ns_quota.setdefault(rq.namespace, {}).update(rq.hard)
        self.ns_usage: dict[str, dict[str, int]] = {}

    def borrowing(self, queue: str, amounts: Mapping[FlavorResource, int]) -> bool:
        """Whether taking `amounts` would put `queue` beyond its own subtree quota."""
        node = self.tree.nodes[queue]
        return any(
            node.usage.get(fr, 0) + a > node.subtree.get(fr, 0) for fr, a in amounts.items()
        )

    def namespace_refusal(self, w: Workload, requests: Mapping[str, int]) -> str | None:
        """Why `w` would exceed its namespace's ResourceQuota, or None if it fits."""
        hard = self.ns_quota.get(w.namespace)
        if not hard:
            return None
        used = self.ns_usage.get(w.namespace, {})
        for key, limit in hard.items():
            amount, have = _quota_amount(key, requests, w), _quota_amount(key, used, None)
            if amount and have + amount > limit:
                return (
                    f"exceeds ResourceQuota of namespace {w.namespace}: "
                    f"{key} {have + amount} > {limit}"
                )
        return None

    def add(self, active: Active) -> None:
        w = active.workload
        self.tree.add(active.queue, active.amounts)
        usage = self.ns_usage.setdefault(w.namespace, {})
        for r, a in w.requests().items():
            usage[r] = usage.get(r, 0) + a
        usage["pods"] = usage.get("pods", 0) + w.pod_count
        self.active[w.key] = active
        self.running.add(Running(w, active.queue, active.admitted_at))

    def remove(self, key: str) -> Active:
        """Forget an admitted workload and give back its quota (its pods are the caller's)."""
        active = self.active.pop(key)
        self.running.remove(active.workload, active.queue)
        self.unplaced.discard(key)
        self.tree.add(active.queue, active.amounts, sign=-1)
        usage = self.ns_usage[active.workload.namespace]
        for r, a in active.workload.requests().items():
            usage[r] -= a
        usage["pods"] -= active.workload.pod_count
        return active


def _quota_amount(key: str, amounts: Mapping[str, int], w: Workload | None) -> int:
    """A ResourceQuota key's amount in the quota's units (GPUs whole, CPU milli, memory MiB)."""
    if key == "pods":
        return w.pod_count if w is not None else amounts.get("pods", 0)
    resource = key.removeprefix("requests.").removeprefix("limits.")
    amount = amounts.get(resource, 0)
    # ResourceQuota counts nvidia.com/gpu in GPUs; the brain in milli-GPU.
    return -(-amount // 1000) if resource == GPU else amount
