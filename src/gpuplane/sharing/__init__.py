"""The GPU sharing model in one place: modes, what a node advertises, labels, plugin config.

A node's GPUs are offered to pods in one of the modes platform teams run today (exclusive,
time-slicing, MPS, MIG under the single or mixed strategy, fractional, vGPU), each with what
it isolates (`ISOLATION`). `NodeSharing` says which mode each GPU of a node runs. From it:

* `node_devices` lists what the node advertises: every device (a whole GPU, a replica, a MIG
  instance, a vGPU) with its extended resource and nominal share. The scheduler (`cluster`,
  `placement`) places on these devices and the node agent (`node`) serves these very devices
  to the kubelet, so what a node advertises is what the scheduler believes it can place.
* `gfd_labels` writes the labels GPU Feature Discovery would put on the node;
  `sharing_from_labels` and `physical_gpu_count` read a node's sharing back from such labels.
* The NVIDIA device plugin's config (`DevicePluginConfig`, the data of its ConfigMap) is chosen
  per node (`select_config`), turned into the sharing it gives (`sharing_from_device_plugin_config`)
  and merged with what the labels or the driver show (`apply_config`, `with_mig_gpus`), with
  the checks the plugin makes.

Modules: `modes` (kinds, isolation, NodeSharing), `devices` (what a node advertises),
`labels` (labels written), `read_labels` and `read_mig_labels` (labels read, over the located
`label_view`), `plugin_config` (the config model) and `plugin_apply` (select, apply).

This package depends on `gpuplane.catalog` (GPU models, label and resource names) and
`gpuplane.errors` only. Reading YAML manifests and ConfigMaps into these objects, with
file:line errors, is `gpuplane.objects`' business; the cluster spec's `sharing:` section is
`gpuplane.cluster.sharing_spec`'s.
"""

from gpuplane.sharing.devices import (
    REPLICA_SEPARATOR,
    WHOLE_MILLI,
    Device,
    MigLayout,
    advertised,
    gpu_devices,
    initial_layout,
    kubelet_devices,
    mig_resource,
    node_devices,
    replica_count,
)
from gpuplane.sharing.labels import gfd_labels, gpu_mode, product_name, resource_label, sanitise
from gpuplane.sharing.modes import (
    DEFAULT_SPLIT_COUNT,
    EXCLUSIVE,
    EXCLUSIVE_NODE,
    ISOLATION,
    MAX_SPLIT_COUNT,
    FractionPolicy,
    GpuSharing,
    Isolation,
    MigStrategy,
    NodeSharing,
    SharingKind,
    check_replicas,
)
from gpuplane.sharing.plugin_apply import (
    DEFAULT_CONFIG_NAME,
    apply_config,
    labels_decide,
    resolve_uuids,
    select_config,
    sharing_from_device_plugin_config,
    with_mig_gpus,
)
from gpuplane.sharing.plugin_config import (
    DevicePluginConfig,
    DevicePluginConfigMap,
    ReplicatedResource,
    SharingConfig,
)
from gpuplane.sharing.read_labels import (
    fractional_from_labels,
    physical_gpu_count,
    product_model,
    renamed_resource,
    sharing_from_labels,
)

__all__ = [
    "DEFAULT_CONFIG_NAME",
    "DEFAULT_SPLIT_COUNT",
    "EXCLUSIVE",
    "EXCLUSIVE_NODE",
    "ISOLATION",
    "MAX_SPLIT_COUNT",
    "REPLICA_SEPARATOR",
    "WHOLE_MILLI",
    "Device",
    "DevicePluginConfig",
    "DevicePluginConfigMap",
    "FractionPolicy",
    "GpuSharing",
    "Isolation",
    "MigLayout",
    "MigStrategy",
    "NodeSharing",
    "ReplicatedResource",
    "SharingConfig",
    "SharingKind",
    "advertised",
    "apply_config",
    "check_replicas",
    "fractional_from_labels",
    "gfd_labels",
    "gpu_devices",
    "gpu_mode",
    "initial_layout",
    "kubelet_devices",
    "labels_decide",
    "mig_resource",
    "node_devices",
    "physical_gpu_count",
    "product_model",
    "product_name",
    "renamed_resource",
    "replica_count",
    "resolve_uuids",
    "resource_label",
    "sanitise",
    "select_config",
    "sharing_from_device_plugin_config",
    "sharing_from_labels",
    "with_mig_gpus",
]
