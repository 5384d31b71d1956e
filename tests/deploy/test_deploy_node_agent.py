"""The node-agent DaemonSet gives the agent what its defaults (read from the code) use: the
kubelet's and CDI's host paths, /var/log and the host's processes for pod attribution, its
node's name, and only GPU nodes."""

from __future__ import annotations

import inspect
import posixpath
from pathlib import Path
from typing import Any

from deploy_helpers import find, manifests
from gpuplane.cli.node import node_agent
from gpuplane.node.allocate import MPS_HOST_ROOT
from gpuplane.node.cdi import CDI_SPEC_DIR
from gpuplane.node.kubelet_api import KUBELET_DIR
from gpuplane.telemetry.podresources import POD_RESOURCES_SOCKET
from gpuplane.telemetry.processes import ProcessResolver

DAEMONSET = find(manifests(), "DaemonSet", "gpuplane-node-agent")
POD: dict[str, Any] = DAEMONSET["spec"]["template"]["spec"]
(CONTAINER,) = POD["containers"]
_LOG_ROOT = inspect.signature(ProcessResolver).parameters["log_root"].default
# Host path -> whether the agent writes there.
NEEDED = {
    KUBELET_DIR: True,  # its plugin sockets; kubelet.sock to register
    MPS_HOST_ROOT: True,  # the MPS control daemon's pipes and shared memory
    CDI_SPEC_DIR: True,  # the CDI spec it writes
    posixpath.dirname(POD_RESOURCES_SOCKET): False,  # pod-resources: pods holding GPUs
    str(_LOG_ROOT): False,  # container log names: a process's container -> its pod
}


def _mounts() -> dict[str, dict[str, Any]]:
    """Mount path -> {host path, read-only} for every hostPath volume the container mounts."""
    volumes = {v["name"]: v for v in POD["volumes"]}
    mounts = {}
    for mount in CONTAINER["volumeMounts"]:
        volume = volumes[mount["name"]]
        if "hostPath" in volume:
            mounts[mount["mountPath"]] = {
                "host": volume["hostPath"]["path"],
                "read_only": mount.get("readOnly", False),
            }
    return mounts


def _covering(path: str) -> dict[str, Any] | None:
    for mount_path, mount in _mounts().items():
        if Path(path).is_relative_to(mount_path):
            return mount
    return None


def test_every_host_path_the_agent_uses_is_mounted_at_the_same_path() -> None:
    for path, writes in NEEDED.items():
        mount = _covering(path)
        assert mount is not None, f"{path} is not mounted"
        # Same path inside as on the host: the agent's defaults and the kubelet agree on it.
        assert Path(path).is_relative_to(mount["host"]), path
        assert mount["read_only"] is not writes, f"{path}: read-only should be {not writes}"


def test_every_path_in_the_args_is_inside_a_mount() -> None:
    for arg in CONTAINER["args"]:
        value = arg.partition("=")[2]
        if value.startswith("/"):
            assert _covering(value) is not None, arg


def test_every_flag_in_the_args_is_an_option_of_gpuplane_node_agent() -> None:
    assert CONTAINER["args"][0] == "node-agent"
    options = {
        decl
        for parameter in inspect.signature(node_agent).parameters.values()
        for decl in getattr(parameter.default, "param_decls", ())
    }
    for arg in CONTAINER["args"][1:]:
        assert arg.partition("=")[0] in options, arg


def test_pod_attribution_sees_the_hosts_processes() -> None:
    # /proc/<pid>/cgroup of the processes NVML reports names their pod.
    assert POD["hostPID"] is True


def test_node_name_comes_from_the_downward_api() -> None:
    env = {e["name"]: e for e in CONTAINER["env"]}
    assert env["NODE_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "spec.nodeName"


def test_metrics_on_dcgm_exporters_port() -> None:
    assert "--metrics-port=9400" in CONTAINER["args"]
    assert CONTAINER["ports"] == [{"name": "metrics", "containerPort": 9400, "protocol": "TCP"}]
    assert CONTAINER["livenessProbe"]["httpGet"]["port"] == "metrics"


def test_only_gpu_nodes_and_their_taints() -> None:
    terms = POD["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    expressions = [e for t in terms["nodeSelectorTerms"] for e in t["matchExpressions"]]
    assert {"key": "nvidia.com/gpu.present", "operator": "In", "values": ["true"]} in expressions
    # Every term asks for a GPU: no term lets the agent onto a node without one.
    for term in terms["nodeSelectorTerms"]:
        for expression in term["matchExpressions"]:
            assert expression["operator"] == "In" and expression["values"] == ["true"]
    tolerated = {t["key"] for t in POD["tolerations"] if t["operator"] == "Exists"}
    assert "nvidia.com/gpu" in tolerated
    gpu = next(t for t in POD["tolerations"] if t["key"] == "nvidia.com/gpu")
    assert "effect" not in gpu, "tolerates every effect of the GPU taint"


def test_not_privileged_and_read_only_root() -> None:
    security = CONTAINER["securityContext"]
    assert security["privileged"] is False
    assert security["allowPrivilegeEscalation"] is False
    assert security["readOnlyRootFilesystem"] is True
    assert security["capabilities"] == {"drop": ["ALL"]}
