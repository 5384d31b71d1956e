"""Snapshots of a live cluster: what `gpuplane snapshot` and `place --kubeconfig` read.

Read-only, and only the kinds of `collect.KINDS` (never Secrets). Modules: `collect` (the paged
lists), `clean` (objects cut down to manifests), `anonymize` (hashed names), `workloads` (what
runs, waits and finished), `history` (the workload model fitted from what finished),
`unmanaged` (the queue of work outside any queue), `scenario` (the scenario files), `state`
(the live cluster as the scheduler's cache holds it, for `place --kubeconfig`).
"""

from gpuplane.live.snapshot.collect import KINDS, Collected, collect
from gpuplane.live.snapshot.scenario import Snapshot, SnapshotOptions, build, write

__all__ = ["KINDS", "Collected", "Snapshot", "SnapshotOptions", "build", "collect", "write"]
