"""The Kubernetes adapter: gpuplane's world that talks to a real API server.

`live` lists and watches the cluster (reflectors), and turns the brain's decisions into API
calls (bindings, and later events, status conditions and leases). It holds no scheduling logic:
what it reads reaches the brain through the same `objects` readers the files use, so a decision
made here is the decision the twin makes on the same state. It never imports `sim`.

Modules: `kube` (client configuration and API errors), `reflector` (list + watch + relist per
kind), `binding` (the pods/binding subresource), and the scheduler: `cache` (Nodes and bound
pods as a ClusterState), `scheduling_queue` (active, backoff, unschedulable), `gangs`
(PodGroups), `events` (Events and the PodScheduled condition), `scheduler` (the cycle).
"""
