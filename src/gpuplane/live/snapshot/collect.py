"""Reading a cluster for a snapshot: one paged list per kind of an allowlist, nothing else.

The allowlist is the whole of what a snapshot reads: it is what deploy/rbac-snapshot.yaml
grants (list only, `gpuplane.live.permissions`), and Secrets, ConfigMaps and every other kind
stay unread. A kind the API server does not serve (a CRD not installed: Kueue, Volcano) is
read as empty. Kueue's kinds are read from the newest version served.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import httpx2

from gpuplane.live.kube import ApiStatusError, api_path
from gpuplane.live.reflector import Obj

PAGE_SIZE = 500


@dataclass(frozen=True)
class SnapshotKind:
    """A kind a snapshot lists: its group, the versions to try (newest first), its plural."""

    kind: str
    group: str
    versions: tuple[str, ...]
    plural: str


KUEUE = "kueue.x-k8s.io"
VOLCANO = "scheduling.volcano.sh"

#: Everything a snapshot reads; `place --kubeconfig` reads the first two.
KINDS: tuple[SnapshotKind, ...] = (
    SnapshotKind("Node", "", ("v1",), "nodes"),
    SnapshotKind("Pod", "", ("v1",), "pods"),
    SnapshotKind("Job", "batch", ("v1",), "jobs"),
    SnapshotKind("ResourceQuota", "", ("v1",), "resourcequotas"),
    SnapshotKind("PriorityClass", "scheduling.k8s.io", ("v1",), "priorityclasses"),
    SnapshotKind("ClusterQueue", KUEUE, ("v1beta2", "v1beta1"), "clusterqueues"),
    SnapshotKind("LocalQueue", KUEUE, ("v1beta2", "v1beta1"), "localqueues"),
    SnapshotKind("ResourceFlavor", KUEUE, ("v1beta2", "v1beta1"), "resourceflavors"),
    SnapshotKind(
        "WorkloadPriorityClass", KUEUE, ("v1beta2", "v1beta1"), "workloadpriorityclasses"
    ),
    SnapshotKind("Cohort", KUEUE, ("v1beta2", "v1beta1", "v1alpha1"), "cohorts"),
    SnapshotKind("Queue", VOLCANO, ("v1beta1",), "queues"),
    SnapshotKind("PodGroup", VOLCANO, ("v1beta1",), "podgroups"),
)
NODES_AND_PODS = KINDS[:2]


@dataclass
class Collected:
    """The objects read, by kind, each with its apiVersion and kind set (list items lack them)."""

    objects: dict[str, list[Obj]] = field(default_factory=dict)
    #: Kinds the API server does not serve.
    absent: list[str] = field(default_factory=list)

    def of(self, kind: str) -> list[Obj]:
        return self.objects.get(kind, [])


async def list_all(http: httpx2.AsyncClient, group: str, version: str, plural: str) -> list[Obj]:
    """Every object of one kind in every namespace, page by page (404: not served)."""
    path = api_path(group, version, plural)
    params = {"limit": str(PAGE_SIZE)}
    items: list[Obj] = []
    while True:
        reply = await http.get(path, params=params)
        if reply.status_code != 200:
            raise ApiStatusError.from_reply(reply.status_code, reply.headers, reply.content)
        body = reply.json()
        items += body.get("items") or []
        token = (body.get("metadata") or {}).get("continue")
        if not token:
            return items
        params = {"limit": str(PAGE_SIZE), "continue": str(token)}


async def _collect_kind(http: httpx2.AsyncClient, kind: SnapshotKind) -> tuple[str, list[Obj]]:
    for version in kind.versions:
        try:
            items = await list_all(http, kind.group, version, kind.plural)
        except ApiStatusError as err:
            if err.code == 404:
                continue  # not served in this version (or at all): try the next one
            raise
        api_version = f"{kind.group}/{version}" if kind.group else version
        for item in items:
            item["apiVersion"] = api_version
            item["kind"] = kind.kind
        return api_version, items
    return "", []


async def collect(
    http: httpx2.AsyncClient, kinds: tuple[SnapshotKind, ...] = KINDS
) -> Collected:
    """List every kind of `kinds` at once."""
    results = await asyncio.gather(*(_collect_kind(http, k) for k in kinds))
    out = Collected()
    for kind, (served, items) in zip(kinds, results, strict=True):
        out.objects[kind.kind] = items
        if not served:
            out.absent.append(kind.kind)
    return out
