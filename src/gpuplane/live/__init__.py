"""The Kubernetes adapter: gpuplane's world that talks to a real API server.

`live` lists and watches the cluster (reflectors), and turns the brain's decisions into API
calls (annotations, bindings, events, status conditions, leases). It holds no scheduling logic:
what it reads reaches the brain through the same `objects` readers the files use, so a decision
made here is the decision the twin makes on the same state. It never imports `sim`.

Modules:

* the client: `kube` (client configuration and API errors), `reflector` (list + watch + relist
  per kind), `binding` (the pods/binding subresource);
* the scheduler: `cache` (Nodes and bound pods as a ClusterState), `scheduling_queue` (active,
  backoff, unschedulable), `gangs` (PodGroups), `events` (Events and the PodScheduled
  condition), `scheduler` (the cycle);
* operations: `leader` (leader election on a Lease), `metrics` (kube-scheduler's metric names),
  `ops` (/metrics and the probes), `logs` (structured logs and --log-level), `permissions`
  (every API call each component makes, which deploy/'s RBAC grants exactly).
"""
