"""The pod book: which pending pod a kubelet request belongs to (no sockets, no server)."""

from __future__ import annotations

from typing import Any

from gpuplane.node.pod_book import PodBook
from gpuplane.objects.assignment import (
    ALLOCATED,
    ALLOCATED_ANNOTATION,
    BIND_TIME_ANNOTATION,
    DEVICES_ANNOTATION,
    DeviceAssignment,
)
from node_helpers import FOUR_A100, plan

NODE = "n1"
GPU = "nvidia.com/gpu"


def pod(
    name: str,
    assignment: DeviceAssignment | str | None,
    *,
    count: int = 1,
    containers: int = 1,
    annotations: dict[str, str] | None = None,
    scheduled_at: str | None = None,
    phase: str = "Pending",
) -> dict[str, Any]:
    notes = dict(annotations or {})
    if assignment is not None:
        text = assignment if isinstance(assignment, str) else assignment.encode()
        notes[DEVICES_ANNOTATION] = text
    status: dict[str, Any] = {"phase": phase}
    if scheduled_at is not None:
        status["conditions"] = [
            {"type": "PodScheduled", "status": "True", "lastTransitionTime": scheduled_at}
        ]
    return {
        "metadata": {"namespace": "ns", "name": name, "uid": f"uid-{name}", "annotations": notes},
        "spec": {
            "nodeName": NODE,
            "containers": [
                {"name": f"c{i}", "resources": {"limits": {GPU: str(count), "cpu": "1"}}}
                for i in range(containers)
            ],
        },
        "status": status,
    }


def whole(*gpus: int, node: str = NODE) -> DeviceAssignment:
    n = len(gpus)
    return DeviceAssignment(node, gpus, (1000,) * n, (81920,) * n, tuple(f"gpu{g}" for g in gpus))


def book() -> PodBook:
    return PodBook(plan(FOUR_A100), NODE)


def matched(b: PodBook, count: int = 1) -> str | None:
    found = b.match(GPU, count)
    return None if found is None else found[0].key[1]


def test_the_bind_time_annotation_orders_before_the_pod_scheduled_condition() -> None:
    b = book()
    b.update(pod("late", whole(0), scheduled_at="2026-01-01T00:00:09Z"))
    b.update(pod("early", whole(1), scheduled_at="2026-01-01T00:00:03Z"))
    assert matched(b) == "early"
    stamped = {BIND_TIME_ANNOTATION: "2026-01-01T00:00:01.000001Z"}
    b.update(pod("late", whole(0), annotations=stamped, scheduled_at="2026-01-01T00:00:09Z"))
    assert matched(b) == "late"


def test_served_containers_survive_a_status_update_and_the_pod_leaves_when_done() -> None:
    b = book()
    b.update(pod("pair", whole(0, 1), containers=2))
    found = b.match(GPU, 1)
    assert found is not None and found[0].shares[found[1]].slots[0][0].startswith("GPU-")
    assert not b.serve(*found)
    b.update(pod("pair", whole(0, 1), containers=2, phase="Pending"))  # e.g. a new condition
    second = b.match(GPU, 1)
    assert second is not None and second[1] == 1
    assert b.serve(*second)
    assert b.match(GPU, 1) is None
    # A late echo of the pod without the allocated mark yet does not bring it back.
    b.update(pod("pair", whole(0, 1), containers=2))
    assert b.match(GPU, 1) is None


def test_pods_that_are_not_pending_here_are_not_matched() -> None:
    b = book()
    b.update(pod("done", whole(0), annotations={ALLOCATED_ANNOTATION: ALLOCATED}))
    b.update(pod("running", whole(1), phase="Running"))
    b.update(pod("elsewhere", whole(2, node="n2")))
    assert matched(b) is None
    assert b.pending(GPU) == [
        "ns/elsewhere: assigned to node 'n2', not 'n1'",
    ]


def test_an_assignment_the_node_cannot_serve_is_reported_never_matched() -> None:
    b = book()
    b.update(pod("garbled", "{not json"))
    b.update(pod("unknown", DeviceAssignment(NODE, (7,), (1000,), (1,), ("gpu7",))))
    b.update(pod("short", whole(0), count=2))
    reasons = "\n".join(b.pending(GPU))
    assert matched(b) is None and matched(b, 2) is None
    assert "ns/garbled: " in reasons and "malformed device assignment" in reasons
    assert "ns/unknown: device gpu7 is not advertised on this node" in reasons
    assert "ns/short: container c0 asks 2 nvidia.com/gpu, the assignment holds 1" in reasons


def test_a_pod_without_an_assignment_is_known_as_unassigned() -> None:
    b = book()
    b.update(pod("other", None, count=2))
    assert b.unassigned_asks(GPU, 2) and not b.unassigned_asks(GPU, 1)
    b.remove(pod("other", None))
    assert not b.unassigned_asks(GPU, 2)


def test_a_fraction_may_take_any_device_of_its_gpu() -> None:
    b = book()
    b.update(pod("frac", DeviceAssignment(NODE, (2,), (250,), (4096,))))
    found = b.match(GPU, 1)
    assert found is not None
    share = found[0].shares[found[1]]
    assert share.names == ("gpu2",) and share.fraction == ((250, 4096),)
    gpu2 = [d.id for d in plan(FOUR_A100).devices if d.gpu.index == 2]
    assert share.slots == (tuple(gpu2),)
    assert share.pick(["x", *gpu2]) == gpu2 and share.pick(["x"]) is None


def test_a_pod_updated_between_match_and_serve_is_still_served_once() -> None:
    b = book()
    b.update(pod("racy", whole(0, 1), containers=2))
    found = b.match(GPU, 1)
    assert found is not None and found[1] == 0
    b.update(pod("racy", whole(0, 1), containers=2))  # the watch replaces the entry meanwhile
    assert not b.serve(*found)
    second = b.match(GPU, 1)
    assert second is not None and second[1] == 1
    assert b.serve(*second)
    assert b.match(GPU, 1) is None and b.pending(GPU) == []
