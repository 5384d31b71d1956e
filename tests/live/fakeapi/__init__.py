"""A fake Kubernetes API server for tests: real HTTP on loopback, the semantics `live` relies on.

Served: core/v1 pods (with status, binding and eviction), nodes (with status), namespaces,
configmaps, events; events.k8s.io/v1 events; coordination.k8s.io/v1 leases; and any CRD
registered with `register_crd` (validated against the schema given, if any). Verbs: get, list,
watch (from a version, or from now with the current state first; bookmarks; timeoutSeconds),
create (generateName; the namespace must exist), update (409 on a stale resourceVersion),
patch (merge, strategic merge subset, JSON patch; see patch.py), delete. Label and field
selectors (selectors.py). Every write is validated against the OpenAPI schema of Kubernetes
KUBE_VERSION (resources.py) and refused with 422. Faults: faults.py, `restart`, `compact`.
Every request lands in `audit` (auth.py: verb, resource, namespace, name, User-Agent, user,
status). Opt-in RBAC: `FakeApiServer(rbac=Policy.from_objects(...))` authenticates bearer
tokens (`token_for`, `service_account_token`; the admin token is system:masters) and answers
401 or 403 Forbidden as kube-apiserver does (rbac.py evaluates the rules).

Not modelled (answered as if absent, or refused): graceful deletion and finalizers (deletes are
immediate), garbage collection and namespace cascade, PodDisruptionBudgets on eviction, list
pagination (`limit` is ignored: one page), resourceVersionMatch, server-side apply (415),
dryRun (400), discovery endpoints; without `rbac`, authentication and authorization (any
token, or none, is served as an admin).
"""

from .auth import AuditEvent
from .faults import Fault, FaultPlan
from .rbac import Policy, User, service_account_user
from .resources import ResourceType
from .server import FakeApiServer

__all__ = [
    "AuditEvent",
    "FakeApiServer",
    "Fault",
    "FaultPlan",
    "Policy",
    "ResourceType",
    "User",
    "service_account_user",
]
