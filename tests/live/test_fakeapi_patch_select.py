"""Patches and selectors in the fake API server, over HTTP and on the functions themselves."""

import httpx2
import pytest
from fakeapi.patch import PatchError, json_patch, merge_patch, strategic_merge_patch
from fakeapi.selectors import SelectorError, matcher
from live_helpers import PODS, create, names, pod

MERGE = {"Content-Type": "application/merge-patch+json"}
STRATEGIC = {"Content-Type": "application/strategic-merge-patch+json"}
JSON_PATCH = {"Content-Type": "application/json-patch+json"}


def test_merge_patch_adds_replaces_and_deletes_keys() -> None:
    target = {"a": 1, "b": {"c": 2, "d": 3}, "l": [1, 2]}
    assert merge_patch(target, {"a": None, "b": {"c": 9}, "l": [3]}) == {
        "b": {"c": 9, "d": 3},
        "l": [3],
    }
    assert target == {"a": 1, "b": {"c": 2, "d": 3}, "l": [1, 2]}  # the input is left alone


def test_strategic_merge_patch_merges_keyed_lists() -> None:
    status = {
        "conditions": [
            {"type": "Ready", "status": "False"},
            {"type": "PodScheduled", "status": "False"},
        ]
    }
    patched = strategic_merge_patch(
        status,
        {
            "conditions": [
                {"type": "PodScheduled", "status": "True"},
                {"type": "Initialized", "status": "True"},
            ]
        },
    )
    assert patched["conditions"] == [
        {"type": "Ready", "status": "False"},
        {"type": "PodScheduled", "status": "True"},
        {"type": "Initialized", "status": "True"},
    ]
    removed = strategic_merge_patch(
        patched, {"conditions": [{"type": "Ready", "$patch": "delete"}]}
    )
    assert [c["type"] for c in removed["conditions"]] == ["PodScheduled", "Initialized"]
    replaced = strategic_merge_patch(
        patched, {"conditions": [{"$patch": "replace"}, {"type": "X", "status": "True"}]}
    )
    assert replaced["conditions"] == [{"type": "X", "status": "True"}]
    assert strategic_merge_patch({"finalizers": ["a"]}, {"finalizers": ["b", "a"]}) == {
        "finalizers": ["a", "b"]
    }
    assert strategic_merge_patch({"args": ["a"]}, {"args": ["b"]}) == {
        "args": ["b"]
    }  # unkeyed: replaced
    with pytest.raises(PatchError, match="merge key"):
        strategic_merge_patch(status, {"conditions": [{"status": "True"}]})


def test_json_patch_operations() -> None:
    doc = {"metadata": {"annotations": {}}, "items": [1, 2]}
    ops = [
        {"op": "add", "path": "/metadata/annotations/gpuplane.io~1gpus", "value": "0,1"},
        {"op": "replace", "path": "/items/0", "value": 5},
        {"op": "add", "path": "/items/-", "value": 7},
        {"op": "copy", "from": "/items/1", "path": "/copied"},
        {"op": "move", "from": "/copied", "path": "/moved"},
        {"op": "remove", "path": "/items/1"},
        {"op": "test", "path": "/moved", "value": 2},
    ]
    assert json_patch(doc, ops) == {
        "metadata": {"annotations": {"gpuplane.io/gpus": "0,1"}},
        "items": [5, 7],
        "moved": 2,
    }
    with pytest.raises(PatchError, match="test failed"):
        json_patch(doc, [{"op": "test", "path": "/items/0", "value": 9}])
    with pytest.raises(PatchError, match="not found"):
        json_patch(doc, [{"op": "remove", "path": "/nothing/here"}])


def test_patches_over_http(http: httpx2.Client) -> None:
    create(http, PODS, pod("a", labels={"keep": "1", "drop": "1"}))
    merged = http.patch(
        f"{PODS}/a", json={"metadata": {"labels": {"drop": None, "new": "2"}}}, headers=MERGE
    )
    assert merged.json()["metadata"]["labels"] == {"keep": "1", "new": "2"}
    strategic = http.patch(
        f"{PODS}/a/status",
        headers=STRATEGIC,
        json={
            "status": {
                "conditions": [
                    {"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}
                ]
            }
        },
    )
    assert strategic.status_code == 200, strategic.text
    assert strategic.json()["status"]["conditions"][0]["reason"] == "Unschedulable"
    annotated = http.patch(
        f"{PODS}/a",
        headers=JSON_PATCH,
        json=[{"op": "add", "path": "/metadata/annotations", "value": {"gpuplane.io/gpus": "3"}}],
    )
    assert annotated.json()["metadata"]["annotations"] == {"gpuplane.io/gpus": "3"}
    failed = http.patch(
        f"{PODS}/a",
        headers=JSON_PATCH,
        json=[{"op": "test", "path": "/spec/nodeName", "value": "x"}],
    )
    assert failed.status_code == 422
    stale = http.patch(
        f"{PODS}/a",
        headers=MERGE,
        json={"metadata": {"resourceVersion": "1", "labels": {"x": "y"}}},
    )
    assert stale.status_code == 409
    unsupported = http.patch(
        f"{PODS}/a", headers={"Content-Type": "application/apply-patch+yaml"}, content=b"{}"
    )
    assert unsupported.status_code == 415


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("tier=gpu", ["a", "b"]),
        ("tier==gpu,team=ml", ["a"]),
        ("tier!=gpu", ["c", "d"]),
        ("team in (ml, infra)", ["a", "b", "c"]),
        ("team notin (ml)", ["b", "c", "d"]),
        ("team", ["a", "b", "c"]),
        ("!team", ["d"]),
        ("team,tier in (gpu),!missing", ["a", "b"]),
    ],
)
def test_label_selectors(http: httpx2.Client, selector: str, expected: list[str]) -> None:
    create(http, PODS, pod("a", labels={"tier": "gpu", "team": "ml"}))
    create(http, PODS, pod("b", labels={"tier": "gpu", "team": "infra"}))
    create(http, PODS, pod("c", labels={"tier": "cpu", "team": "infra"}))
    create(http, PODS, pod("d"))
    assert names(http.get(PODS, params={"labelSelector": selector})) == expected


def test_field_selectors(http: httpx2.Client) -> None:
    create(http, PODS, pod("a"))
    create(http, PODS, pod("b", scheduler="default-scheduler"))
    create(http, PODS, pod("c"))
    binding = {
        "apiVersion": "v1",
        "kind": "Binding",
        "metadata": {"name": "c"},
        "target": {"name": "n1"},
    }
    assert http.post(f"{PODS}/c/binding", json=binding).status_code == 201
    http.patch(f"{PODS}/b/status", json={"status": {"phase": "Succeeded"}}, headers=MERGE)
    pending = "spec.schedulerName=gpuplane,spec.nodeName="
    assert names(http.get("/api/v1/pods", params={"fieldSelector": pending})) == ["a"]
    assert names(http.get(PODS, params={"fieldSelector": "spec.nodeName=n1"})) == ["c"]
    assert names(http.get(PODS, params={"fieldSelector": "status.phase!=Succeeded"})) == ["a", "c"]
    assert names(
        http.get(PODS, params={"fieldSelector": "metadata.name==b,metadata.namespace=default"})
    ) == ["b"]
    bad = http.get(PODS, params={"fieldSelector": "spec.priority=3"})
    assert bad.status_code == 400 and "field label not supported" in bad.json()["message"]
    assert http.get("/api/v1/nodes", params={"fieldSelector": "spec.nodeName=x"}).status_code == 400


def test_malformed_label_selector_is_rejected() -> None:
    with pytest.raises(SelectorError):
        matcher("a b c", None, "pods")
