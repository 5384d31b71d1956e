"""Filter plugins, one per file; kube-scheduler's default order is in profiles.default_filters."""

from gpuplane.placement.filters.node_affinity import NodeAffinityFilter
from gpuplane.placement.filters.node_name import NodeNameFilter
from gpuplane.placement.filters.node_resources_fit import NodeResourcesFitFilter
from gpuplane.placement.filters.node_unschedulable import NodeUnschedulableFilter
from gpuplane.placement.filters.taint_toleration import TaintTolerationFilter

__all__ = [
    "NodeAffinityFilter",
    "NodeNameFilter",
    "NodeResourcesFitFilter",
    "NodeUnschedulableFilter",
    "TaintTolerationFilter",
]
