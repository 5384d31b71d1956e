"""Kueue's documented part of the AdmissionCheck protocol, played by the tests on the fake API.

Kueue (site/content/en/docs/concepts/admission_check/_index.md, "Admitting Workload with
AdmissionChecks"): it reserves quota (status.admission and the QuotaReserved condition) and lists
the ClusterQueue's checks as Pending; once every check is Ready it sets Admitted and starts the
job, whose pod templates get the checks' podSetUpdates; a check in Retry makes it release the
quota and requeue the Workload (the check Pending again at the next reservation). The player
does each step when a test asks, so that a test says exactly which moves Kueue made.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx2
from kueue_crds import KUEUE_GROUP
from live_helpers import create
from scheduler_helpers import COSCHEDULING_GROUPS, PODS, gpu_pod, pod_group

from gpuplane.live.admission import CONTROLLER_NAME
from gpuplane.live.gangs import COSCHEDULING_LABEL

CHECK = "gpuplane-placement"
CLUSTER_QUEUE = "gpus"


def now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def condition(kind: str, status: str, reason: str, message: str = "") -> dict[str, Any]:
    return {
        "type": kind,
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": now_text(),
    }


class Kueue:
    """Kueue's moves for one API version, through an admin client."""

    def __init__(self, http: httpx2.Client, version: str) -> None:
        self.http = http
        self.version = version
        self.api = f"{KUEUE_GROUP}/{version}"

    def path(self, plural: str, name: str | None = None, namespace: str | None = None) -> str:
        base = f"/apis/{KUEUE_GROUP}/{self.version}"
        if namespace is not None:
            base += f"/namespaces/{namespace}"
        return f"{base}/{plural}" + (f"/{name}" if name else "")

    def install(self, gpus: int = 64, controller: str = CONTROLLER_NAME) -> None:
        """A ResourceFlavor, our AdmissionCheck, a ClusterQueue using it and a LocalQueue."""
        flavor = {"apiVersion": self.api, "kind": "ResourceFlavor", "metadata": {"name": "gpu"}}
        create(self.http, self.path("resourceflavors"), flavor)
        check = {
            "apiVersion": self.api,
            "kind": "AdmissionCheck",
            "metadata": {"name": CHECK},
            "spec": {"controllerName": controller},
        }
        create(self.http, self.path("admissionchecks"), check)
        resources = [{"name": "nvidia.com/gpu", "nominalQuota": gpus}]
        queue = {
            "apiVersion": self.api,
            "kind": "ClusterQueue",
            "metadata": {"name": CLUSTER_QUEUE},
            "spec": {
                "namespaceSelector": {},
                "admissionChecks": [CHECK],
                "resourceGroups": [
                    {
                        "coveredResources": ["nvidia.com/gpu"],
                        "flavors": [{"name": "gpu", "resources": resources}],
                    }
                ],
            },
        }
        create(self.http, self.path("clusterqueues"), queue)
        local = {
            "apiVersion": self.api,
            "kind": "LocalQueue",
            "metadata": {"name": "team", "namespace": "default"},
            "spec": {"clusterQueue": CLUSTER_QUEUE},
        }
        create(self.http, self.path("localqueues", namespace="default"), local)

    def submit(self, name: str, pods: int, gpus: int) -> dict[str, Any]:
        """A Workload of one pod set: `pods` pods of `gpus` GPUs each (a gang)."""
        template = gpu_pod("x", {"nvidia.com/gpu": str(gpus)})
        workload = {
            "apiVersion": self.api,
            "kind": "Workload",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {
                "queueName": "team",
                "podSets": [
                    {"name": "workers", "count": pods, "template": {"spec": template["spec"]}}
                ],
            },
        }
        return create(self.http, self.path("workloads", namespace="default"), workload)

    def get(self, name: str) -> dict[str, Any]:
        reply = self.http.get(self.path("workloads", name, "default"))
        assert reply.status_code == 200, reply.text
        found: dict[str, Any] = reply.json()
        return found

    def _status(self, name: str, status: dict[str, Any]) -> None:
        path = self.path("workloads", name, "default") + "/status"
        headers = {"Content-Type": "application/merge-patch+json"}
        reply = self.http.patch(path, json={"status": status}, headers=headers)
        assert reply.status_code == 200, reply.text

    def reserve(self, name: str) -> None:
        """Quota reserved: the admission, QuotaReserved, and our check Pending."""
        workload = self.get(name)
        pod_set = workload["spec"]["podSets"][0]
        gpus = pod_set["template"]["spec"]["containers"][0]["resources"]["limits"]
        total = int(gpus["nvidia.com/gpu"]) * pod_set["count"]
        admission = {
            "clusterQueue": CLUSTER_QUEUE,
            "podSetAssignments": [
                {
                    "name": pod_set["name"],
                    "flavors": {"nvidia.com/gpu": "gpu"},
                    "resourceUsage": {"nvidia.com/gpu": str(total)},
                    "count": pod_set["count"],
                }
            ],
        }
        check = {"name": CHECK, "state": "Pending", "message": "", "lastTransitionTime": now_text()}
        self._status(
            name,
            {
                "admission": admission,
                "conditions": [condition("QuotaReserved", "True", "QuotaReserved")],
                "admissionChecks": [check],
            },
        )

    def check(self, name: str) -> dict[str, Any]:
        found: dict[str, Any] = self.get(name)["status"]["admissionChecks"][0]
        return found

    def admit_and_start(self, name: str) -> list[str]:
        """All checks Ready: Admitted, and the job's pods created with the podSetUpdates (a
        coscheduling gang of the pod set's count). Returns the pods' names."""
        workload = self.get(name)
        status = workload["status"]
        assert all(c["state"] == "Ready" for c in status["admissionChecks"])
        conditions = [*status["conditions"], condition("Admitted", "True", "Admitted")]
        self._status(name, {"conditions": conditions})
        pod_set = workload["spec"]["podSets"][0]
        updates = {u["name"]: u for c in status["admissionChecks"] for u in c["podSetUpdates"]}
        annotations = updates[pod_set["name"]].get("annotations") or {}
        create(self.http, COSCHEDULING_GROUPS, pod_group(
            "scheduling.x-k8s.io/v1alpha1", name, pod_set["count"]
        ))
        names = [f"{name}-{i}" for i in range(pod_set["count"])]
        spec = pod_set["template"]["spec"]
        for pod in names:
            body = {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": pod,
                    "labels": {COSCHEDULING_LABEL: name},
                    "annotations": dict(annotations),
                },
                "spec": spec,
            }
            create(self.http, PODS, body)
        return names

    def requeue(self, name: str) -> None:
        """A check in Retry: the quota released (the Workload evicted and requeued)."""
        conditions = [
            condition("QuotaReserved", "False", "Pending"),
            condition("Evicted", "True", "AdmissionCheck"),
        ]
        self._status(name, {"admission": None, "conditions": conditions})
