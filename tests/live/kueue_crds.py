"""Kueue's CRDs for the fake API server: the schemas of Kueue's published CRD manifests.

tests/live/crds/<plural>.json hold, per served version (v1beta1 and v1beta2), the
openAPIV3Schema of kubernetes-sigs/kueue config/components/crd/bases/kueue.x-k8s.io_<plural>.yaml
(the commit is in each file; tests/live/crds/regenerate.py rewrites them from a Kueue checkout)
without descriptions and CEL rules. The fake validates every write against them as the API
server does against a CRD's structural schema.

What the fake does not do with them (known, harmless to these tests): CEL rules
(x-kubernetes-validations) are not evaluated, defaults are not applied and unknown fields are not
pruned; and each version is stored apart (a real API server converts between v1beta1 and
v1beta2 and stores one), so a test speaks one version throughout.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from fakeapi import FakeApiServer

CRDS = Path(__file__).with_name("crds")
KUEUE_GROUP = "kueue.x-k8s.io"
KINDS = ("workloads", "admissionchecks", "clusterqueues", "localqueues", "resourceflavors")
VERSIONS = ("v1beta1", "v1beta2")


@functools.cache
def crd(plural: str) -> dict[str, Any]:
    """One kind's file: group, kind, plural, namespaced, source and the versions' schemas."""
    loaded: dict[str, Any] = json.loads((CRDS / f"{plural}.json").read_text())
    return loaded


def schema(plural: str, version: str) -> dict[str, Any]:
    found: dict[str, Any] = crd(plural)["versions"][version]["schema"]
    return found


def register_kueue(fake: FakeApiServer, versions: tuple[str, ...] = VERSIONS) -> None:
    """Serve Workload, AdmissionCheck, ClusterQueue, LocalQueue and ResourceFlavor in `versions`,
    with their schemas and (where Kueue has one) status subresources."""
    for plural in KINDS:
        spec = crd(plural)
        for version in versions:
            served = spec["versions"][version]
            fake.register_crd(
                spec["group"],
                version,
                spec["plural"],
                spec["kind"],
                namespaced=spec["namespaced"],
                schema=served["schema"],
                status_subresource=served["status_subresource"],
            )
