"""Filter plugins, one per file; kube-scheduler's default order is in profiles.default_filters."""

from gpuplane.placement.filters.node_affinity import NodeAffinity
from gpuplane.placement.filters.node_name import NodeName
from gpuplane.placement.filters.node_resources_fit import NodeResourcesFit
from gpuplane.placement.filters.node_unschedulable import NodeUnschedulable
from gpuplane.placement.filters.taint_toleration import TaintToleration

__all__ = ["NodeAffinity", "NodeName", "NodeResourcesFit", "NodeUnschedulable", "TaintToleration"]
