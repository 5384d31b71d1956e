"""ClusterState: the cluster as the brain sees it, and the cluster spec that builds it.

* `state`: nodes and GPUs as numpy struct-of-arrays (free CPU, memory, per-GPU milli and
  memory, MIG layouts, devices, health); reserve and release with their fit checked, and
  `trial()`, a what-if whose every change is undone on exit.
* `build`: a fresh state's arrays in one pass, per-node work done once per node shape.
* `binding`: what one pod holds (`Binding`), and the errors and events reserving produces.
* `checks`: the fit check of a binding and the invariants of the whole state.
* `journal`: the undo log behind `ClusterState.trial()` and the never-reused change stamps.
* `spec`, `sharing_spec`, `spec_base`: the pydantic cluster spec (node pools, GPU sharing)
  and the one translation of its validation errors into InputErrors with file:line.
* `load`: a cluster from a spec file or from Node manifests (with device-plugin ConfigMaps).
"""

from gpuplane.cluster.binding import Binding, CapacityError, binding_for
from gpuplane.cluster.state import ClusterState

__all__ = ["Binding", "CapacityError", "ClusterState", "binding_for"]
