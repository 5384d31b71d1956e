"""A snapshot and `place --kubeconfig` run as deploy/rbac-snapshot.yaml's service account: no
call is refused, and they make exactly the rows of `permissions` for "snapshot"."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from fakeapi import FakeApiServer, Policy
from snapshot_helpers import small_cluster

from deploy_helpers import every_manifest
from gpuplane.live.permissions import NAMESPACE, PERMISSIONS, SERVICE_ACCOUNTS, Component

from helpers import run_cli


def test_snapshot_uses_exactly_its_permissions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    account = SERVICE_ACCOUNTS[Component.SNAPSHOT]
    with FakeApiServer(seed=4, rbac=Policy.from_objects(every_manifest())) as fake:
        small_cluster(fake)
        token = fake.service_account_token(NAMESPACE, account)
        kubeconfig = fake.write_kubeconfig(tmp_path / "kubeconfig", token=token)
        code, _, err = run_cli(
            capsys, monkeypatch, "snapshot", "-o", tmp_path / "s.yaml", "--kubeconfig", kubeconfig
        )
        assert code == 0, err
        pods = tmp_path / "pods.yaml"
        pods.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Pod",
                                        "metadata": {"name": "p"},
                                        "spec": {"containers": [{"name": "c"}]}}))
        code, _, err = run_cli(capsys, monkeypatch, "place", pods, "--kubeconfig", kubeconfig)
        assert code == 0, err
    mine = [e for e in fake.audit if e.user.endswith(f":{account}")]
    assert mine and all(e.code not in (401, 403) for e in mine)
    used = {(e.verb, e.api_group, e.resource, e.subresource) for e in mine}
    table = {
        (verb, call.group, call.resource, call.subresource)
        for call in PERMISSIONS[Component.SNAPSHOT]
        for verb in call.verbs
    }
    assert used == table
