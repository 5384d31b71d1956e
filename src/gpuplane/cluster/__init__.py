"""ClusterState and the cluster spec that builds it."""

from gpuplane.cluster.binding import Binding, CapacityError, binding_for
from gpuplane.cluster.state import ClusterState

__all__ = ["Binding", "CapacityError", "ClusterState", "binding_for"]
