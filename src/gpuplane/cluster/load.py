"""Load a cluster from what a user has: a cluster spec, or real Node manifests."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from gpuplane.catalog import lookup
from gpuplane.cluster.spec import parse_cluster_spec
from gpuplane.errors import ClusterSpecError, InputError, Location
from gpuplane.objects import Node, read_manifests
from gpuplane.objects.yamlio import load_file, locate


def load_cluster(path: str | Path) -> list[Node]:
    """Nodes from a cluster spec file, or from Node manifests (a file or a directory).

    A file whose documents carry `kind` is read as manifests; anything else as a cluster spec.
    Node manifests with a known `nvidia.com/gpu.product` label get their GPU memory from the
    catalog when the label `nvidia.com/gpu.memory` is missing.
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
            return parse_cluster_spec(body, str(path), lambda p: locate(body, p)).nodes()
    nodes = read_manifests([path]).nodes
    if not nodes:
        raise InputError(
            "no nodes found",
            where=Location(str(path)),
            hint="give a cluster spec (nodePools) or files with kind: Node",
        )
    return [_with_catalog_memory(node) for node in nodes]


def _with_catalog_memory(node: Node) -> Node:
    if node.gpu_count and not node.gpu_memory_mib and node.gpu_model:
        model = lookup(node.gpu_model, where=node.source.child("metadata.labels"))
        return replace(node, gpu_memory_mib=model.memory_mib)
    return node
