"""The fake serves Kueue's kinds with their published schemas: malformed writes are refused."""

from __future__ import annotations

import httpx2
import pytest
from fakeapi import FakeApiServer
from kueue_crds import KINDS, VERSIONS, crd, register_kueue
from kueue_helpers import CHECK, Kueue


def test_every_kind_and_version_comes_from_one_cited_kueue_commit() -> None:
    commits = {crd(plural)["source"]["commit"] for plural in KINDS}
    assert len(commits) == 1 and len(next(iter(commits))) == 40
    for plural in KINDS:
        assert set(crd(plural)["versions"]) >= set(VERSIONS)


@pytest.mark.parametrize("version", VERSIONS)
def test_valid_objects_are_stored_and_malformed_ones_refused(
    fake: FakeApiServer, http: httpx2.Client, version: str
) -> None:
    register_kueue(fake, (version,))
    kueue = Kueue(http, version)
    kueue.install()
    kueue.submit("w", pods=2, gpus=1)
    kueue.reserve("w")
    assert kueue.check("w")["state"] == "Pending"

    bad = kueue.get("w")
    del bad["spec"]["podSets"][0]["template"]
    reply = http.put(kueue.path("workloads", "w", "default"), json=bad)
    assert reply.status_code == 422 and "template" in reply.text

    path = kueue.path("workloads", "w", "default") + "/status"
    state = {"name": CHECK, "state": "Maybe", "message": "", "lastTransitionTime": "x"}
    headers = {"Content-Type": "application/merge-patch+json"}
    reply = http.patch(path, json={"status": {"admissionChecks": [state]}}, headers=headers)
    assert reply.status_code == 422, reply.text

    check = {"apiVersion": kueue.api, "kind": "AdmissionCheck", "metadata": {"name": "c"},
             "spec": {}}
    reply = http.post(kueue.path("admissionchecks"), json=check)
    assert reply.status_code == 422 and "controllerName" in reply.text


def test_a_status_write_to_the_main_resource_is_ignored(
    fake: FakeApiServer, http: httpx2.Client
) -> None:
    register_kueue(fake)
    kueue = Kueue(http, "v1beta2")
    kueue.install()
    kueue.submit("w", pods=1, gpus=1)
    obj = kueue.get("w")
    obj["status"] = {"conditions": []}
    reply = http.put(kueue.path("workloads", "w", "default"), json=obj)
    assert reply.status_code == 200
    assert "status" not in kueue.get("w") or not kueue.get("w")["status"].get("conditions")
