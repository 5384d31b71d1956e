"""Volcano's queues as quota: deserved shares by weight, capabilities, and the actions run.

Volcano's proportion plugin splits the cluster among queues by weight: each round gives every
queue not yet satisfied `remaining * weight / total weight`, capped by its capability, and
hands what a capped queue cannot take to the others in the next round. A queue that states
`deserved` keeps it (the capacity plugin's rule) and the rest of the cluster is split among
the others. Volcano also caps a queue by its demand; gpuplane's split is static instead and
lends what a queue does not use (the cohort borrowing rules), which admits the same work.

Volcano's default scheduler configuration runs no `reclaim` action: queues then never take
back from each other what they lent (see `VolcanoSchedulerConfig`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from gpuplane.catalog.resources import GPU
from gpuplane.cluster.state import ClusterState
from gpuplane.objects.queues import (
    FlavorQuotas,
    ResourceGroup,
    ResourceQuotaSpec,
    VolcanoQueue,
)
from gpuplane.queueing.outcomes import QueueingConfig

FLAVOR = "volcano-default"


def cluster_capacity(state: ClusterState) -> dict[str, int]:
    """What the cluster's nodes offer, in quota units, by resource name."""
    out = {
        "cpu": int(state.cpu_alloc.sum()),
        "memory": int(state.mem_alloc.sum()),
        "pods": int(state.pods_alloc.sum()),
        GPU: int(state.gpu_count.sum()) * 1000,
    }
    for name, col in state.ext_col.items():
        if name not in out:  # whole GPUs are counted above, in milli-GPU
            out[name] = int(state.ext_alloc[:, col].sum())
    return out


def deserved_shares(
    queues: Sequence[VolcanoQueue], resources: Sequence[str], capacity: Mapping[str, int]
) -> dict[str, dict[str, int]]:
    """Each queue's deserved amount per resource: stated, or its weight's share of the rest."""
    out: dict[str, dict[str, int]] = {q.name: {} for q in queues}
    for r in resources:
        remaining = max(0, capacity.get(r, 0) - sum(q.deserved.get(r, 0) for q in queues))
        open_ = [q for q in queues if r not in q.deserved]
        for q in queues:
            out[q.name][r] = q.deserved.get(r, 0)
        while open_ and remaining > 0:
            total = sum(q.weight for q in open_)
            given = 0
            still: list[VolcanoQueue] = []
            for q in open_:
                share = remaining * q.weight // total
                cap = q.capability.get(r)
                before = out[q.name][r]
                after = before + share if cap is None else min(cap, before + share)
                out[q.name][r] = after
                given += after - before
                if cap is None or after < cap:
                    still.append(q)
            if given == 0:
                break
            remaining -= given
            open_ = still
        for q in queues:
            out[q.name][r] = max(out[q.name][r], q.guarantee.get(r, 0))
    return out


def volcano_group(
    queue: VolcanoQueue, resources: Sequence[str], deserved: Mapping[str, int]
) -> ResourceGroup:
    """A queue's quota: nominal = deserved, borrowing up to its capability, guarantee kept."""
    quotas = {}
    for r in resources:
        nominal = deserved.get(r, 0)
        capability = queue.capability.get(r)
        borrowing = None if capability is None else max(0, capability - nominal)
        guarantee = queue.guarantee.get(r, 0)
        lending = max(0, nominal - guarantee) if guarantee else None
        quotas[r] = ResourceQuotaSpec(nominal, borrowing, lending)
    return ResourceGroup(tuple(resources), (FlavorQuotas(FLAVOR, quotas),))


def with_capacity(config: QueueingConfig, state: ClusterState) -> QueueingConfig:
    """`config` with its Volcano queues' weight shares taken from the cluster's capacity."""
    if not config.volcano_queues:
        return config
    by_name = {q.name: q for q in config.volcano_queues}
    resources = sorted(
        {r for cq in config.cluster_queues for g in cq.resource_groups for r in g.covered}
    )
    shares = deserved_shares(config.volcano_queues, resources, cluster_capacity(state))
    queues = [
        replace(cq, resource_groups=(volcano_group(by_name[cq.name], resources, shares[cq.name]),))
        if cq.name in by_name
        else cq
        for cq in config.cluster_queues
    ]
    return replace(config, cluster_queues=tuple(queues), volcano_queues=())
