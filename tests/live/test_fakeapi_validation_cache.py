"""The fake's validation remembers valid parts of objects, and still refuses every invalid one."""

from __future__ import annotations

import copy
from typing import Any

import httpx2
from live_helpers import PODS, create, pod


def test_a_known_valid_spec_does_not_let_an_invalid_metadata_through(http: httpx2.Client) -> None:
    create(http, PODS, pod("a"))
    bad: dict[str, Any] = pod("b")
    bad["metadata"]["labels"] = {"k": 5}  # the spec was seen valid; the labels are not
    reply = http.post(PODS, json=bad)
    assert reply.status_code == 422, reply.text
    fresh: dict[str, Any] = copy.deepcopy(bad)
    fresh["metadata"]["name"] = "c"
    fresh["spec"]["containers"][0]["image"] = "other"  # nothing of it known: a whole validation
    message = http.post(PODS, json=fresh).json()["message"]
    assert reply.json()["message"] == message and "labels" in message


def test_parts_valid_each_can_still_break_the_object_s_required_fields(
    http: httpx2.Client,
) -> None:
    binding = {
        "apiVersion": "v1",
        "kind": "Binding",
        "metadata": {"name": "a"},
        "target": {"apiVersion": "v1", "kind": "Node", "name": "n1"},
    }
    create(http, PODS, pod("a"))
    no_target = {k: v for k, v in binding.items() if k != "target"}
    reply = http.post(f"{PODS}/a/binding", json=no_target)
    assert reply.status_code == 422 and "target" in reply.json()["message"]
    assert http.post(f"{PODS}/a/binding", json=binding).status_code == 201
