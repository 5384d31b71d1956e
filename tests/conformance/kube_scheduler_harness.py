"""Shared harness for the kube-scheduler conformance tables: API objects in, gpuplane out.

Upstream's tables build v1.Node and v1.Pod objects; here each case writes the same objects as
plain API dicts, which go through gpuplane's own readers (`read_api_objects`), so a case checks
the reading of quantities, selectors and taints as well as the plugin.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from gpuplane.cluster import ClusterState
from gpuplane.cluster.binding import binding_for
from gpuplane.objects import Node, Pod, read_api_objects
from gpuplane.placement import Scheduler
from gpuplane.placement.framework import Cycle, NodeCache, ScorePlugin
from gpuplane.placement.gpu_fit import GpuFit

Obj = dict[str, Any]


def node(
    name: str,
    allocatable: Mapping[str, str] | None = None,
    *,
    labels: Mapping[str, str] | None = None,
    taints: Sequence[Mapping[str, str]] = (),
) -> Obj:
    """A v1 Node; `allocatable` as upstream's Capacity(...) (cpu in cores, memory in bytes)."""
    out: Obj = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": dict(labels or {})},
        "spec": {"taints": [dict(t) for t in taints]},
        "status": {"allocatable": dict(allocatable or {})},
    }
    return out


def pod(
    name: str = "pod",
    *containers: Mapping[str, str],
    node_name: str | None = None,
    tolerations: Sequence[Mapping[str, Any]] = (),
    node_selector: Mapping[str, str] | None = None,
    affinity: Mapping[str, Any] | None = None,
    init: Sequence[Mapping[str, str]] = (),
    overhead: Mapping[str, str] | None = None,
) -> Obj:
    """A v1 Pod whose containers request `containers` (one dict of requests each)."""

    def container(i: int, requests: Mapping[str, str], prefix: str) -> Obj:
        limits = {k: v for k, v in requests.items() if "/" in k and "kubernetes.io/" not in k}
        return {
            "name": f"{prefix}{i}",
            "image": "pause",
            "resources": {"requests": dict(requests), "limits": limits},
        }

    spec: Obj = {"containers": [container(i, r, "c") for i, r in enumerate(containers or [{}])]}
    if init:
        spec["initContainers"] = [container(i, r, "init") for i, r in enumerate(init)]
    if node_name:
        spec["nodeName"] = node_name
    if tolerations:
        spec["tolerations"] = [dict(t) for t in tolerations]
    if node_selector:
        spec["nodeSelector"] = dict(node_selector)
    if affinity:
        spec["affinity"] = {"nodeAffinity": dict(affinity)}
    if overhead:
        spec["overhead"] = dict(overhead)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}


def read_nodes(objs: Sequence[Obj]) -> list[Node]:
    return list(read_api_objects(objs).nodes)


def read_pod(obj: Obj) -> Pod:
    (one,) = read_api_objects([obj]).pods
    return one


def cluster(nodes: Sequence[Obj], existing: Sequence[Obj] = ()) -> ClusterState:
    """A ClusterState of `nodes` with `existing` pods (each with nodeName) already on them.

    As in upstream's snapshot, existing pods are counted even beyond a node's capacity (some
    tables put more on a node than it has), so they are applied without the fit check.
    """
    state = ClusterState(read_nodes(nodes))
    for i, obj in enumerate(existing):
        obj = {**obj, "metadata": {"name": f"existing-{i}"}}
        p = read_pod(obj)
        assert p.node_name is not None
        i = state.index[p.node_name]
        got = GpuFit(p.gpu, state).assign(i) if p.gpu.wants_gpu else None
        shares = zip(got.gpus, got.milli, got.memory_mib, strict=True) if got else ()
        devices = got.devices if got else ()
        state._apply(binding_for(p, i, shares, devices=devices), -1)
    return state


def cycle(state: ClusterState, p: Pod) -> Cycle:
    c = Cycle(pod=p, state=state, cache=NodeCache(), gpu=GpuFit(p.gpu, state))
    c.feasible = np.ones(len(state), dtype=np.bool_)
    return c


def scores(plugin: ScorePlugin, state: ClusterState, p: Obj) -> list[int]:
    """The plugin's (normalized) score of every node, in node order."""
    return [int(x) for x in plugin.score(cycle(state, read_pod(p)))]


def schedule(state: ClusterState, p: Obj, profile: str = "least-allocated") -> Any:
    return Scheduler(state, profile).schedule(read_pod(p))


# The resource tables the Least/MostAllocated strategy tests share (upstream builds both from the
# same helpers): an extended resource, default and extended weights, node capacities.
EXT = "abc.com/xyz"
DEFAULT = {"cpu": 1, "memory": 1}
WITH_EXT = {"cpu": 1, "memory": 1, EXT: 1}


def cap(cpu: str, memory: str, x: str | None = None) -> dict[str, str]:
    """Capacity as upstream's Capacity(...); `x` is the count of the extended resource."""
    return {"cpu": cpu, "memory": memory, **({EXT: x} if x is not None else {})}


REQ = ({"cpu": "1000", "memory": "2000"}, {"cpu": "2000", "memory": "3000"})
