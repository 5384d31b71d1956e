"""ClusterCache fed watch events directly: holdings, the API's truth over our guess, rebuilds."""

from __future__ import annotations

import copy
from typing import Any

from scheduler_helpers import gpu_pod, h100

from gpuplane.live.cache import ClusterCache
from gpuplane.live.reflector import EventType, WatchEvent
from gpuplane.placement import Placement


def obj(base: dict[str, Any], rv: int, uid: str = "u1", **changes: Any) -> dict[str, Any]:
    out = copy.deepcopy(base)
    out["metadata"].update({"uid": uid, "resourceVersion": str(rv)})
    out["metadata"]["creationTimestamp"] = "2026-01-01T00:00:00Z"
    if out["kind"] == "Pod":
        out["metadata"]["namespace"] = "default"
    for path, value in changes.items():
        section, key = path.split("__")
        out.setdefault(section, {})[key] = value
    return out


def added(o: dict[str, Any]) -> WatchEvent:
    return WatchEvent(EventType.ADDED, o)


def modified(o: dict[str, Any]) -> WatchEvent:
    return WatchEvent(EventType.MODIFIED, o)


def cache_with_two_nodes() -> ClusterCache:
    changes: list[str] = []
    cache = ClusterCache("most-allocated", on_change=changes.append)
    cache.node_event(added(obj(h100("a", 2), 1)))
    cache.node_event(added(obj(h100("b", 2), 2)))
    cache.sync()
    return cache


def test_a_heartbeat_does_not_rebuild_a_label_change_does_and_keeps_the_holdings() -> None:
    cache = cache_with_two_nodes()
    pod = obj(gpu_pod("p", {"nvidia.com/gpu": "1"}), 3, spec__nodeName="a")
    cache.pod_event(added(pod))
    rebuilds = cache.rebuilds
    beat = obj(h100("a", 2), 4, status__conditions=[{"type": "Ready", "status": "True"}])
    cache.node_event(modified(beat))
    assert not cache.dirty
    relabelled = obj(h100("a", 2), 5)
    relabelled["metadata"]["labels"]["zone"] = "z1"
    cache.node_event(modified(relabelled))
    assert cache.dirty
    cache.sync()
    assert cache.rebuilds == rebuilds + 1
    assert list(cache.state.bindings) == ["default/p"]
    assert cache.state.nodes[cache.state.bindings["default/p"].node].name == "a"


def test_the_api_node_wins_over_an_assumed_one_and_forget_then_keeps_it() -> None:
    cache = cache_with_two_nodes()
    pending = obj(gpu_pod("p", {"nvidia.com/gpu": "2"}), 3)
    record = cache.pod_event(added(pending))
    assert record.pod is not None
    decision = cache.scheduler.schedule(record.pod)
    assert isinstance(decision, Placement)
    cache.assume(record, decision)
    other = "b" if decision.node == "a" else "a"
    cache.pod_event(modified(obj(pending, 4, spec__nodeName=other)))  # another binder won
    cache.forget("default/p")  # our bind's 409 arrives afterwards: nothing to drop
    binding = cache.state.bindings["default/p"]
    assert cache.state.nodes[binding.node].name == other
    assert not cache.assumed
    cache.state.check_invariants()
    assert int(cache.state.gpu_free_milli.sum()) == 2000  # one node's two GPUs held, once


def test_recreated_finished_and_deleted_pods_release() -> None:
    cache = cache_with_two_nodes()
    pod = gpu_pod("p", {"nvidia.com/gpu": "2"})
    cache.pod_event(added(obj(pod, 3, spec__nodeName="a")))
    assert cache.held == {"default/p": "u1"}
    # The same name, a new uid, pending: the old pod's GPUs are free again.
    cache.pod_event(modified(obj(pod, 4, uid="u2")))
    assert cache.held == {} and not cache.state.bindings
    cache.pod_event(modified(obj(pod, 5, uid="u2", spec__nodeName="b")))
    assert cache.held == {"default/p": "u2"}
    cache.pod_event(modified(obj(pod, 6, uid="u2", spec__nodeName="b", status__phase="Failed")))
    assert cache.held == {} and int(cache.state.gpu_free_milli.sum()) == 4000
    cache.pod_event(WatchEvent(EventType.DELETED, obj(pod, 7, uid="u2")))
    assert "default/p" not in cache.pods
