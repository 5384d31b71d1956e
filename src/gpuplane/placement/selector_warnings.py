"""Warnings about a pod's constraints that are legal but almost certainly mistakes."""

from __future__ import annotations

from collections.abc import Sequence

from gpuplane.objects.node import Node
from gpuplane.objects.pod import Pod


def selector_warnings(pod: Pod, nodes: Sequence[Node]) -> list[str]:
    """A warning for each nodeSelector label key that no node carries at all.

    Kubernetes accepts such a pod and leaves it Pending forever; usually the key is misspelt
    or the label (e.g. from GPU Feature Discovery) is missing from the nodes.
    """
    keys = {key for node in nodes for key in node.labels}
    where = f"{pod.source}: " if pod.source.file else ""
    return [
        f"{where}pod {pod.key}: nodeSelector {key}={value} matches no node: "
        f"no node has the label {key}"
        for key, value in pod.node_selector.items()
        if key not in keys
    ]
