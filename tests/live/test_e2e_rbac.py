"""deploy/'s RBAC covers every API call the scheduler and the node agent make, and nothing more.

The fake API server authorizes with the Roles and bindings of deploy/; the scheduler (with
leader election) and a node agent run with their service accounts' tokens through every code
path that calls the API: the node's labels, the pod watches, a bind with its device annotation
and Scheduled event, an unschedulable pod's FailedScheduling event and PodScheduled condition,
a gang of a coscheduling PodGroup, the Lease acquired, renewed and released, the allocated mark,
and the Kueue admission check (an AdmissionCheck kept Active, a Workload's check set Ready).
No request may be refused (401, 403), and what each component asked for, as the audit log
records it, must be exactly its rows of `gpuplane.live.permissions`.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_helpers import (
    H100,
    GpuNode,
    admin_client,
    eventually,
    labelled,
    node_agents,
    serve_every_pod,
)
from fakeapi import FakeApiServer, Policy, service_account_user
from kueue_crds import register_kueue
from kueue_helpers import Kueue
from live_helpers import create, run, wait_until
from scheduler_helpers import (
    COSCHEDULING_GROUPS,
    NODES,
    PODS,
    events,
    gpu_pod,
    pod_group,
    register_pod_groups,
)

from deploy_helpers import manifests
from gpuplane.cli.scheduler import USER_AGENT as SCHEDULER_AGENT
from gpuplane.live.admission import AdmissionCheckController
from gpuplane.live.gangs import COSCHEDULING_LABEL
from gpuplane.live.kube import Kube, load_config
from gpuplane.live.leader import ElectionTimings, LeaderElector
from gpuplane.live.permissions import (
    NAMESPACE,
    PERMISSIONS,
    SCHEDULER_LEASE,
    SERVICE_ACCOUNTS,
    Component,
)
from gpuplane.live.scheduler import LiveScheduler
from gpuplane.node.apiserver import USER_AGENT as AGENT_AGENT
from gpuplane.objects.assignment import ALLOCATED, ALLOCATED_ANNOTATION

Call = tuple[str, str, str, str]  # verb, apiGroup, resource, subresource
NODE = GpuNode("gpu-a", f"[{{model: {H100}, count: 4}}]")
LEASE = f"/apis/coordination.k8s.io/v1/namespaces/{NAMESPACE}/leases"
BOUND = ["solo", "gang-0", "gang-1"]


@pytest.fixture
def secured() -> Iterator[FakeApiServer]:
    with FakeApiServer(seed=5, bookmark_interval=0.05, rbac=Policy.from_objects(manifests())) as s:
        yield s
    assert s.errors == [], "the fake API server failed while serving"


def user(component: Component) -> str:
    return service_account_user(NAMESPACE, SERVICE_ACCOUNTS[component]).name


def kubeconfig(fake: FakeApiServer, component: Component, path: Path) -> Path:
    token = fake.service_account_token(NAMESPACE, SERVICE_ACCOUNTS[component])
    return fake.write_kubeconfig(path, token=token)


def table(component: Component) -> set[Call]:
    return {
        (verb, call.group, call.resource, call.subresource)
        for call in PERMISSIONS[component]
        for verb in call.verbs
    }


def used(fake: FakeApiServer, component: Component) -> set[Call]:
    return {
        (e.verb, e.api_group, e.resource, e.subresource)
        for e in fake.audit
        if e.user == user(component)
    }


def obj(fake: FakeApiServer, name: str) -> dict[str, object]:
    found: dict[str, object] = fake.objects("pods")[("default", name)]
    return found


def node_of(fake: FakeApiServer, name: str) -> str | None:
    spec = obj(fake, name)["spec"]
    assert isinstance(spec, dict)
    return spec.get("nodeName")


def unschedulable_condition(fake: FakeApiServer, name: str) -> bool:
    status = obj(fake, name).get("status") or {}
    assert isinstance(status, dict)
    return any(
        c.get("type") == "PodScheduled" and c.get("status") == "False"
        for c in status.get("conditions") or []
    )


def renewed(fake: FakeApiServer) -> bool:
    lease = fake.objects("leases", "coordination.k8s.io", "v1").get((NAMESPACE, SCHEDULER_LEASE))
    if lease is None:
        return False
    spec = lease["spec"]
    return bool(spec.get("holderIdentity")) and spec.get("renewTime") != spec.get("acquireTime")


def released(fake: FakeApiServer) -> bool:
    lease = fake.objects("leases", "coordination.k8s.io", "v1")[(NAMESPACE, SCHEDULER_LEASE)]
    return not lease["spec"].get("holderIdentity")


async def schedule(fake: FakeApiServer, config: Path) -> None:
    """The scheduler as `gpuplane scheduler --leader-elect` wires it, with short timings."""
    kube = Kube.connect(load_config(config))
    kube.http.headers["User-Agent"] = SCHEDULER_AGENT
    elector = LeaderElector(
        kube.http,
        NAMESPACE,
        SCHEDULER_LEASE,
        "replica-a",
        timings=ElectionTimings(lease_duration_s=4.0, renew_deadline_s=3.0, retry_period_s=0.2),
        release_on_cancel=True,
        rng=random.Random(1),
    )
    live = LiveScheduler(
        kube.http,
        is_leader=elector.is_leader,
        initial_backoff_s=0.02,
        max_backoff_s=0.1,
        idle_wait_s=0.05,
        rng=random.Random(2),
    )
    check = AdmissionCheckController.for_scheduler(live, poll_s=0.05, rng=random.Random(3))
    tasks = [asyncio.create_task(live.run()), asyncio.create_task(elector.run())]
    tasks.append(asyncio.create_task(check.run()))
    try:
        await wait_until(lambda: all(node_of(fake, n) for n in BOUND), timeout=20)
        await wait_until(lambda: ("default/job", "gpuplane-placement", "Ready") in check.written)
        await wait_until(lambda: unschedulable_condition(fake, "too-big"), timeout=10)
        await wait_until(lambda: renewed(fake), timeout=10)
        assert sorted(live.bound) == sorted(f"default/{n}" for n in BOUND)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await kube.aclose()


def test_each_component_uses_exactly_the_calls_its_rbac_grants(
    secured: FakeApiServer, tmp_path: Path
) -> None:
    fake = secured
    register_pod_groups(fake)
    register_kueue(fake, ("v1beta2",))
    with admin_client(fake) as http:
        kueue = Kueue(http, "v1beta2")
        kueue.install()
        kueue.submit("job", pods=1, gpus=1)
        kueue.reserve("job")
        namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}
        create(http, "/api/v1/namespaces", namespace)
        create(http, NODES, NODE.node_object())
        api = "scheduling.x-k8s.io/v1alpha1"
        create(http, COSCHEDULING_GROUPS, pod_group(api, "pair", 2))
    agent_config = kubeconfig(fake, Component.NODE_AGENT, tmp_path / "agent")
    with node_agents([NODE], agent_config) as agents:
        eventually(labelled(fake, [NODE]))
        with admin_client(fake) as http:
            create(http, PODS, gpu_pod("solo", {"nvidia.com/gpu": "1"}))
            for name in ("gang-0", "gang-1"):
                labels = {COSCHEDULING_LABEL: "pair"}
                create(http, PODS, gpu_pod(name, {"nvidia.com/gpu": "1"}, labels=labels))
            create(http, PODS, gpu_pod("too-big", {"nvidia.com/gpu": "8"}))

        run(schedule(fake, kubeconfig(fake, Component.SCHEDULER, tmp_path / "scheduler")), 40)
        assert released(fake)  # the cancelled leader handed the Lease back
        assert node_of(fake, "too-big") is None
        reasons = {e["reason"] for e in events(fake, "too-big")}
        assert reasons == {"FailedScheduling"}
        assert {e["reason"] for n in BOUND for e in events(fake, n)} == {"Scheduled"}

        serve_every_pod(agents, [obj(fake, n) for n in BOUND])
        for name in BOUND:
            annotations = obj(fake, name)["metadata"]
            assert isinstance(annotations, dict)
            assert annotations["annotations"][ALLOCATED_ANNOTATION] == ALLOCATED

    refused = [e for e in fake.audit if e.code in (401, 403)]
    assert refused == [], "RBAC refused calls the code makes"
    agents_of = {
        user(Component.SCHEDULER): SCHEDULER_AGENT,
        user(Component.NODE_AGENT): AGENT_AGENT,
    }
    assert all(e.user_agent == agents_of[e.user] for e in fake.audit if e.user in agents_of)
    # The snapshot's calls are checked the same way in test_snapshot_rbac.py.
    for component in (Component.SCHEDULER, Component.NODE_AGENT):
        assert used(fake, component) == table(component), component

