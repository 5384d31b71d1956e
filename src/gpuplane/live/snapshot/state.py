"""The cluster as it is now, as the scheduler's cache holds it: for `place --kubeconfig`.

One list of Nodes and one of Pods (no watch): every pod bound to a node and not finished holds
its devices (gpuplane's annotation) or its requests there, exactly as `gpuplane scheduler`
counts them, so a dry run here answers what the scheduler would do on this state.
"""

from __future__ import annotations

import httpx2

from gpuplane.live.cache import ClusterCache
from gpuplane.live.reflector import EventType, WatchEvent
from gpuplane.live.snapshot.collect import NODES_AND_PODS, collect


async def live_cache(http: httpx2.AsyncClient, policy: str) -> ClusterCache:
    """A ClusterCache of the cluster's Nodes and bound pods, with `policy`'s scheduler."""
    collected = await collect(http, NODES_AND_PODS)
    cache = ClusterCache(policy)
    for node in collected.of("Node"):
        cache.node_event(WatchEvent(EventType.ADDED, node))
    cache.sync()
    for pod in collected.of("Pod"):
        cache.pod_event(WatchEvent(EventType.ADDED, pod))
    return cache
