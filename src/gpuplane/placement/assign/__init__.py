"""Device assignment: which GPUs, replicas, MIG instances or GPU shares a pod gets on its node.

One module per way of taking a GPU; each picks from what the node has free and returns an
`Assignment` that the ClusterState can reserve exactly.
"""

from gpuplane.placement.assign.assignment import Assignment
from gpuplane.placement.assign.devices import pick_devices
from gpuplane.placement.assign.dynamic_mig import dynamic_capacity, reshape_plan
from gpuplane.placement.assign.fraction import pick_fraction

__all__ = ["Assignment", "dynamic_capacity", "pick_devices", "pick_fraction", "reshape_plan"]
