"""The fixed names of the kubelet's Device Plugin API v1beta1 (k8s.io/kubelet deviceplugin).

Kept apart from the gRPC modules so that reading them costs no gRPC import.
"""

from __future__ import annotations

#: The API version a plugin registers with.
API_VERSION = "v1beta1"
#: Where the kubelet serves kubelet.sock and expects plugins' sockets.
KUBELET_DIR = "/var/lib/kubelet/device-plugins"
KUBELET_SOCKET = "kubelet.sock"
#: A device's health in ListAndWatch.
HEALTHY = "Healthy"
UNHEALTHY = "Unhealthy"
