"""The queue for work that names no queue the snapshot knows: its quota never binds.

On a cluster, system pods, Deployments and Jobs outside Kueue hold capacity without asking a
queue; in the twin every workload is admitted through one, so they get one of their own. For
Kueue it is a ClusterQueue with a flavor of its own, quota far beyond any cluster on every
resource they ask for, no cohort (it lends nothing and borrows nothing), and a LocalQueue in
each namespace that has such work. For Volcano it is a Queue that is never reclaimed from.
"""

from __future__ import annotations

from gpuplane.errors import InputError
from gpuplane.live.reflector import Obj
from gpuplane.objects import QUEUE_NAME_LABEL, read_api_objects
from gpuplane.queueing.workload import pod_requests

UNMANAGED = "gpuplane-unmanaged"
KUEUE_API = "kueue.x-k8s.io/v1beta1"
#: Far beyond any cluster, in the unit of each resource (cores, GiB, devices).
UNBOUNDED = "1000000"
_ALWAYS = ("cpu", "memory", "nvidia.com/gpu")


def _resources(workloads: list[Obj]) -> list[str]:
    """Every resource the unmanaged workloads count against quota."""
    names = set(_ALWAYS)
    mine = [
        w
        for w in workloads
        if w["kind"] in ("Pod", "Job")
        and w["metadata"].get("labels", {}).get(QUEUE_NAME_LABEL) == UNMANAGED
    ]
    try:
        read = read_api_objects(mine)
    except InputError:
        return sorted(names)  # simulate reports the unreadable object with its field path
    for pod in [*read.pods, *(j.template for j in read.jobs)]:
        names |= set(pod_requests(pod))
    return sorted(names)


def unmanaged_queues(namespaces: list[str], workloads: list[Obj], volcano: bool) -> list[Obj]:
    if volcano:
        return [
            {
                "apiVersion": "scheduling.volcano.sh/v1beta1",
                "kind": "Queue",
                "metadata": {"name": UNMANAGED},
                "spec": {"weight": 1, "reclaimable": False},
            }
        ]
    resources = _resources(workloads)
    quota = [
        {"name": r, "nominalQuota": UNBOUNDED + ("Gi" if r == "memory" else "")}
        for r in resources
    ]
    out: list[Obj] = [
        {"apiVersion": KUEUE_API, "kind": "ResourceFlavor", "metadata": {"name": UNMANAGED}},
        {
            "apiVersion": KUEUE_API,
            "kind": "ClusterQueue",
            "metadata": {"name": UNMANAGED},
            "spec": {
                "namespaceSelector": {},
                "resourceGroups": [
                    {
                        "coveredResources": resources,
                        "flavors": [{"name": UNMANAGED, "resources": quota}],
                    }
                ],
            },
        },
    ]
    out += [
        {
            "apiVersion": KUEUE_API,
            "kind": "LocalQueue",
            "metadata": {"name": UNMANAGED, "namespace": ns},
            "spec": {"clusterQueue": UNMANAGED},
        }
        for ns in namespaces
    ]
    return out
