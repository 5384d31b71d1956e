"""Load a cluster from what a user has: a cluster spec, or real Node manifests.

Node manifests get their GPU sharing mode as a real cluster does:

1. Labels GFD and the device plugin wrote (nvidia.com/gpu.replicas, the "-SHARED" product,
   MIG strategy and counts; gpuplane.io/sharing, gpuplane.io/dynamic-mig) describe what runs,
   so when they show a sharing mode, that mode holds.
2. Otherwise a device plugin ConfigMap in the same manifests applies: the config the node's
   nvidia.com/device-plugin.config label names, else the default one ("default", or the only
   config). A node whose MIG GPUs are known only from nvidia.com/mig.config keeps its layout
   and takes the config's migStrategy (mig-manager, not the plugin, makes MIG instances).
3. Otherwise the GPUs are exclusive.

A node that labels say nothing about is taken to list its physical GPUs in allocatable
nvidia.com/gpu, whatever config then shares them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from gpuplane.catalog import find, lookup
from gpuplane.cluster.spec import parse_cluster_spec
from gpuplane.errors import ClusterSpecError, InputError, Location
from gpuplane.objects import Node, read_manifests
from gpuplane.objects.yaml_load import load_file
from gpuplane.sharing import (
    DevicePluginConfig,
    DevicePluginConfigMap,
    apply_config,
    labels_decide,
    select_config,
    sharing_from_device_plugin_config,
)


def load_cluster(path: str | Path) -> list[Node]:
    """Nodes from a cluster spec file, or from Node manifests (a file or a directory).

    A file whose documents carry `kind` is read as manifests; anything else as a cluster spec.
    Node manifests with a known `nvidia.com/gpu.product` label get their GPU memory from the
    catalog when the label `nvidia.com/gpu.memory` is missing, and their sharing mode from
    their labels or from device plugin ConfigMaps among the manifests (see above).
    """
    path = Path(path)
    if path.is_file():
        docs = load_file(path)
        if not docs:
            raise ClusterSpecError("the cluster file is empty", where=Location(str(path)))
        if "kind" not in docs[0].body:
            if len(docs) != 1:
                raise ClusterSpecError(
                    f"a cluster spec is one YAML document, found {len(docs)}",
                    where=Location(str(path)),
                )
            body = docs[0].body
            return parse_cluster_spec(body, str(path)).nodes()
    manifests = read_manifests([path])
    if not manifests.nodes:
        raise InputError(
            "no nodes found",
            where=Location(str(path)),
            hint="give a cluster spec (nodePools) or files with kind: Node",
        )
    configmaps = manifests.device_plugin_configs
    return [_with_config(_with_catalog_memory(node), configmaps) for node in manifests.nodes]


def _with_catalog_memory(node: Node) -> Node:
    if node.gpu_count and not node.gpu_memory_mib and node.gpu_model:
        model = lookup(node.gpu_model, where=node.source.child("metadata.labels"))
        return replace(node, gpu_memory_mib=model.memory_mib)
    return node


def _with_config(node: Node, configmaps: Sequence[DevicePluginConfigMap]) -> Node:
    """The node with the device plugin config it would run applied to its sharing."""
    if not configmaps or not node.gpu_count or labels_decide(node.sharing, node.gpu_count):
        return node
    config = select_config(
        node.labels, configmaps, node=node.name, where=node.source.child("metadata.labels")
    )
    if config is None:
        return node
    where = _source(config, configmaps)
    model = find(node.gpu_model)
    from_config = sharing_from_device_plugin_config(config, node.gpu_count, model, where)
    sharing = apply_config(node.sharing, from_config, node.gpu_count, where)
    return replace(node, sharing=sharing)


def _source(config: DevicePluginConfig, configmaps: Sequence[DevicePluginConfigMap]) -> Location:
    for cm in configmaps:
        if cm.configs.get(config.name) is config:
            return cm.source
    return Location()

