"""A fake Kubernetes API server for tests: real HTTP on loopback, the semantics `live` relies on.

Served: core/v1 pods (with status, binding and eviction), nodes (with status), namespaces,
configmaps, events; events.k8s.io/v1 events; coordination.k8s.io/v1 leases; and any CRD
registered with `register_crd` (validated against the schema given, if any). Verbs: get, list,
watch (from a version, or from now with the current state first; bookmarks; timeoutSeconds),
create (generateName; the namespace must exist), update (409 on a stale resourceVersion),
patch (merge, strategic merge subset, JSON patch; see patch.py), delete. Label and field
selectors (selectors.py). Every write is validated against the OpenAPI schema of Kubernetes
KUBE_VERSION (resources.py) and refused with 422. Faults: faults.py, `restart`, `compact`.

Not modelled (answered as if absent, or refused): graceful deletion and finalizers (deletes are
immediate), garbage collection and namespace cascade, PodDisruptionBudgets on eviction, list
pagination (`limit` is ignored: one page), resourceVersionMatch, server-side apply (415),
dryRun (400), authentication and RBAC (any token is accepted), discovery endpoints.
"""

from .faults import Fault, FaultPlan
from .resources import ResourceType
from .server import FakeApiServer

__all__ = ["FakeApiServer", "Fault", "FaultPlan", "ResourceType"]
