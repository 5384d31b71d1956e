"""gpuplane.live.kube (configuration) and gpuplane.live.binding against the fake API server."""

from pathlib import Path

import pytest
from fakeapi import FakeApiServer, Fault
from lightkube import ApiError
from lightkube.models.coordination_v1 import LeaseSpec
from lightkube.models.core_v1 import Container, PodSpec
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.coordination_v1 import Lease
from lightkube.resources.core_v1 import Pod
from lightkube.types import PatchType
from live_helpers import PODS, create, fake_http, pod, run

from gpuplane.errors import InputError
from gpuplane.live.binding import BindOutcome, bind_pod
from gpuplane.live.kube import ApiStatusError, Kube, load_config


def test_load_config_picks_the_context(fake: FakeApiServer, tmp_path: Path) -> None:
    path = fake.write_kubeconfig(tmp_path / "config", context="fake")
    assert load_config(path).cluster.server == fake.url
    assert load_config(path, context="fake").context_name == "fake"
    with pytest.raises(InputError, match="Context 'other' not found") as err:
        load_config(path, context="other")
    assert err.value.hint is not None and "--context" in err.value.hint
    with pytest.raises(InputError, match="not found"):
        load_config(tmp_path / "missing")


def test_load_config_uses_kubeconfig_from_the_environment(
    fake: FakeApiServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("KUBECONFIG", str(fake.write_kubeconfig(tmp_path / "env-config")))
    assert load_config().cluster.server == fake.url


def test_in_cluster_without_a_service_account_is_an_input_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    if Path("/var/run/secrets/kubernetes.io/serviceaccount/token").exists():
        pytest.skip("running inside a pod: the service account exists")
    with pytest.raises(InputError):
        load_config()


def test_the_typed_client_talks_to_the_fake(fake: FakeApiServer, tmp_path: Path) -> None:
    kube = Kube.connect(load_config(fake.write_kubeconfig(tmp_path / "config")))

    async def scenario() -> list[str]:
        try:
            pods = [p async for p in kube.typed.list(Pod, namespace="default")]
            return [str(p.metadata.name) for p in pods if p.metadata]
        finally:
            await kube.aclose()

    with fake_http(fake) as http:
        create(http, PODS, pod("a"))
    assert run(scenario()) == ["a"]


def test_bind_outcomes(fake: FakeApiServer, tmp_path: Path) -> None:
    with fake_http(fake) as http:
        uid = create(http, PODS, pod("a"))["metadata"]["uid"]
        create(http, PODS, pod("b"))
    kube = Kube.connect(load_config(fake.write_kubeconfig(tmp_path / "config")))

    async def scenario() -> None:
        try:
            first = await bind_pod(
                kube.http, "default", "a", "n1", uid=uid, annotations={"gpuplane.io/gpus": "0"}
            )
            assert first.outcome is BindOutcome.BOUND
            again = await bind_pod(kube.http, "default", "a", "n2")
            assert again.outcome is BindOutcome.CONFLICT and "already assigned" in again.message
            recreated = await bind_pod(kube.http, "default", "b", "n1", uid="another-uid")
            assert recreated.outcome is BindOutcome.CONFLICT
            gone = await bind_pod(kube.http, "default", "nope", "n1")
            assert gone.outcome is BindOutcome.NOT_FOUND
            fake.add_fault(Fault("bind", "status", code=409))
            assert (await bind_pod(kube.http, "default", "b", "n1")).outcome is BindOutcome.CONFLICT
            fake.add_fault(Fault("bind", "status", code=500, retry_after=1))
            with pytest.raises(ApiStatusError) as err:
                await bind_pod(kube.http, "default", "b", "n1")
            assert err.value.code == 500 and err.value.retry_after == 1.0
            fake.add_fault(Fault("bind", "status", code=429, retry_after=3))
            with pytest.raises(ApiStatusError) as err:
                await bind_pod(kube.http, "default", "b", "n1")
            assert err.value.reason == "TooManyRequests" and err.value.retry_after == 3.0
            assert (await bind_pod(kube.http, "default", "b", "n1")).outcome is BindOutcome.BOUND
        finally:
            await kube.aclose()

    run(scenario())
    pods = fake.objects("pods")
    assert pods[("default", "a")]["spec"]["nodeName"] == "n1"
    assert pods[("default", "a")]["metadata"]["annotations"] == {"gpuplane.io/gpus": "0"}
    assert pods[("default", "b")]["spec"]["nodeName"] == "n1"


def test_lightkube_verbs_against_the_fake(fake: FakeApiServer, tmp_path: Path) -> None:
    """The real client's requests (paths, content types, bodies) are the ones the fake serves."""
    kube = Kube.connect(load_config(fake.write_kubeconfig(tmp_path / "config")))
    typed = kube.typed

    async def scenario() -> None:
        try:
            spec = PodSpec(containers=[Container(name="main", image="busybox")])
            created = await typed.create(
                Pod(metadata=ObjectMeta(name="a", labels={"x": "1"}), spec=spec)
            )
            assert created.metadata is not None and created.metadata.resourceVersion
            patched = await typed.patch(Pod, "a", {"metadata": {"labels": {"y": "2"}}})  # strategic
            assert patched.metadata is not None and patched.metadata.labels == {"x": "1", "y": "2"}
            merged = await typed.patch(
                Pod, "a", {"metadata": {"labels": {"x": None}}}, patch_type=PatchType.MERGE
            )
            assert merged.metadata is not None and merged.metadata.labels == {"y": "2"}
            ops = [{"op": "add", "path": "/metadata/annotations", "value": {"k": "v"}}]
            annotated = await typed.patch(Pod, "a", ops, patch_type=PatchType.JSON)
            assert annotated.metadata is not None and annotated.metadata.annotations == {"k": "v"}
            with pytest.raises(ApiError) as err:
                await typed.replace(created)  # created's resourceVersion is stale by now
            assert err.value.status.code == 409
            with pytest.raises(ApiError) as err:
                bad = {"metadata": {"labels": {"n": 5}}}
                await typed.patch(Pod, "a", bad, patch_type=PatchType.MERGE)
            assert err.value.status.code == 422
            lease = Lease(
                metadata=ObjectMeta(name="gpuplane", namespace="kube-system"),
                spec=LeaseSpec(holderIdentity="replica-0", leaseDurationSeconds=15),
            )
            await typed.create(lease)
            got = await typed.get(Lease, "gpuplane", namespace="kube-system")
            assert got.spec is not None and got.spec.holderIdentity == "replica-0"
            start = (await typed.get(Pod, "a")).metadata
            assert start is not None
            await typed.delete(Pod, "a")
            events = []
            async for kind, obj in typed.watch(Pod, resource_version=start.resourceVersion):
                events.append((kind, obj.metadata.name if obj.metadata else None))
                break
            assert events == [("DELETED", "a")]
        finally:
            await kube.aclose()

    run(scenario())
