"""ClusterState and the cluster spec that builds it."""

from gpuplane.cluster.state import Binding, CapacityError, ClusterState, binding_for

__all__ = ["Binding", "CapacityError", "ClusterState", "binding_for"]
