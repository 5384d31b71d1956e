"""The cache reuses a pod's reading when only what a binding writes changed, and only then."""

from __future__ import annotations

import copy
from typing import Any

from scheduler_helpers import gpu_pod

from gpuplane.live.cache import pod_record
from gpuplane.objects.assignment import (
    BIND_TIME_ANNOTATION,
    DEVICES_ANNOTATION,
    DeviceAssignment,
)


def api_pod(**changes: Any) -> dict[str, Any]:
    obj = gpu_pod("p", {"nvidia.com/gpu": "1"}, annotations={"team": "a"})
    obj["metadata"] |= {"namespace": "default", "uid": "u1", "resourceVersion": "5"}
    obj["status"] = {"phase": "Pending"}
    obj["spec"] |= changes
    return obj


def bound(obj: dict[str, Any], node: str) -> dict[str, Any]:
    """The pod after our patch and the Binding, as the watch delivers it."""
    new = copy.deepcopy(obj)
    new["metadata"]["annotations"] |= {
        DEVICES_ANNOTATION: DeviceAssignment(node, (0,), (1000,), (0,), ("gpu0",)).encode(),
        BIND_TIME_ANNOTATION: "2026-11-29T22:00:00.000000Z",
    }
    new["metadata"]["resourceVersion"] = "9"
    new["spec"]["nodeName"] = node
    new["status"]["conditions"] = [{"type": "PodScheduled", "status": "True"}]
    return new


def test_a_bound_pod_reused_reads_exactly_as_a_fresh_read() -> None:
    before = pod_record(api_pod())
    after = bound(api_pod(), "n1")
    reused, fresh = pod_record(after, before), pod_record(after)
    assert reused.pod is not before.pod  # reused, updated
    assert reused == fresh and reused.assignment is not None
    assert reused.pod is not None and reused.pod.node_name == "n1"
    assert reused.pod.annotations[BIND_TIME_ANNOTATION] == "2026-11-29T22:00:00.000000Z"


def test_any_other_change_is_read_again() -> None:
    before = pod_record(api_pod())
    changed = bound(api_pod(), "n1")
    changed["spec"]["containers"][0]["resources"]["limits"] = {"nvidia.com/gpu": "2"}
    changed["metadata"]["labels"]["team"] = "b"
    record = pod_record(changed, before)
    assert record == pod_record(changed)
    assert record.pod is not None and before.pod is not None
    assert record.pod.gpu != before.pod.gpu and record.pod.labels == {"team": "b"}


def test_a_refused_pod_is_never_reused() -> None:
    bad = api_pod()
    bad["metadata"]["annotations"]["team"] = 7  # not a string: the reader refuses it
    before = pod_record(bad)
    assert before.pod is None and before.error is not None
    after = pod_record(bound(bad, "n1"), before)
    assert after.pod is None and after.error == pod_record(bound(bad, "n1")).error
