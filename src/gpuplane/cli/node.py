"""`gpuplane node labels|metrics` and `gpuplane node-agent`: the node agent on the command line."""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from enum import StrEnum
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import typer

from gpuplane.cli.app import out
from gpuplane.errors import InputError
from gpuplane.files import write_atomic
from gpuplane.node import logs
from gpuplane.node.allocate import CDI_STRATEGIES, DeviceListStrategy
from gpuplane.node.backend import Backend
from gpuplane.node.cdi import CDI_SPEC_DIR
from gpuplane.node.config import load_config
from gpuplane.node.devices import plan_node
from gpuplane.node.fake import FakeBackend
from gpuplane.node.health import DEFAULT_HOLD_DOWN, XidPolicy
from gpuplane.node.kubelet_api import KUBELET_DIR
from gpuplane.node.labels import NFD_FEATURES_DIR, NFD_FILE_NAME, feature_file, node_labels
from gpuplane.sharing import DevicePluginConfig

if TYPE_CHECKING:
    from gpuplane.node.apiserver import ApiAccess
    from gpuplane.telemetry.exporter import GpuExporter

node_app = typer.Typer(
    name="node", help="What the node agent sees on this node.", no_args_is_help=True
)


class LogLevel(StrEnum):
    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


class BackendName(StrEnum):
    NVML = "nvml"
    FAKE = "fake"


def register(app: typer.Typer) -> None:
    app.add_typer(node_app, name="node")
    app.command("node-agent")(node_agent)


_BACKEND = typer.Option(
    BackendName.NVML, "--backend", help="nvml: the GPUs of this machine; fake: --inventory."
)
_INVENTORY = typer.Option(
    None, "--inventory", help="The fake backend's YAML inventory of GPUs, MIG layouts and faults."
)
_CONFIG = typer.Option(
    None,
    "--config",
    help="A device plugin config file (version: v1; flags.migStrategy; sharing.timeSlicing/mps).",
)


def _backend(name: BackendName, inventory: Path | None) -> Backend:
    if name is BackendName.FAKE:
        if inventory is None:
            raise InputError(
                "the fake backend needs --inventory",
                hint="a YAML file such as: gpus: [{model: NVIDIA-A100-SXM4-80GB, count: 8}]",
            )
        return FakeBackend(inventory)
    if inventory is not None:
        raise InputError("--inventory is for --backend fake; NVML reads the real GPUs")
    # Imported here: only this path needs NVML, and it fails with a message without a GPU.
    from gpuplane.node.nvml import NvmlBackend

    return NvmlBackend()


def _config(path: Path | None) -> DevicePluginConfig | None:
    return load_config(path) if path is not None else None


_POD_RESOURCES = typer.Option(
    None,
    "--pod-resources-socket",
    help="The kubelet's pod-resources socket, for pod labels on GPU metrics "
    "(e.g. /var/lib/kubelet/pod-resources/kubelet.sock); none: no pod labels.",
)


def _node_name() -> str:
    # The DaemonSet passes the node's name (downward API); a pod's hostname is its own name.
    return os.environ.get("NODE_NAME") or socket.gethostname()


def _exporter(source: Backend, pod_resources: Path | None) -> GpuExporter:
    from gpuplane.telemetry.exporter import GpuExporter
    from gpuplane.telemetry.podresources import PodResources

    client = PodResources(pod_resources) if pod_resources is not None else None
    return GpuExporter(source, hostname=_node_name(), pod_resources=client)


@node_app.command("metrics")
def metrics(
    backend: BackendName = _BACKEND,
    inventory: Path | None = _INVENTORY,
    pod_resources: Path | None = _POD_RESOURCES,
) -> None:
    """Print one scrape of this node's GPU metrics, as the node agent's /metrics serves them."""
    source = _backend(backend, inventory)
    try:
        text = _exporter(source, pod_resources).render()
    finally:
        source.close()
    out.print(text, end="", highlight=False, markup=False, soft_wrap=True)


@node_app.command("labels")
def labels(
    backend: BackendName = _BACKEND,
    inventory: Path | None = _INVENTORY,
    config: Path | None = _CONFIG,
    output: Path | None = typer.Option(
        None,
        "--output",
        "-o",
        help="Write an NFD feature file here (atomically) instead of printing the labels, "
        f"e.g. {NFD_FEATURES_DIR}/{NFD_FILE_NAME}.",
    ),
) -> None:
    """Print the GPU Feature Discovery labels of this node, or write them for NFD."""
    source = _backend(backend, inventory)
    try:
        plan = plan_node(source.inventory(), _config(config))
        text = feature_file(node_labels(plan))
    finally:
        source.close()
    if output is None:
        out.print(text, end="", highlight=False, markup=False, soft_wrap=True)
    else:
        write_atomic(output, text)
        out.print(
            f"wrote {len(text.splitlines()) - 1} labels to {output}", highlight=False, markup=False
        )


def _api_access(
    kubeconfig: Path | None, context: str | None, node_name: str | None
) -> ApiAccess | None:
    """API access when asked for (a flag, or in a pod given NODE_NAME); None keeps it off."""
    in_pod = "KUBERNETES_SERVICE_HOST" in os.environ and bool(os.environ.get("NODE_NAME"))
    if kubeconfig is None and context is None and node_name is None and not in_pod:
        return None
    from gpuplane.live.kube import load_config as load_kubeconfig
    from gpuplane.node.apiserver import ApiAccess

    name = node_name or os.environ.get("NODE_NAME")
    if not name:
        raise InputError(
            "API access needs this node's name",
            hint="pass --node-name, or set NODE_NAME from spec.nodeName (the downward API)",
        )
    return ApiAccess(load_kubeconfig(kubeconfig, context), name)


def node_agent(
    backend: BackendName = _BACKEND,
    inventory: Path | None = _INVENTORY,
    config: Path | None = _CONFIG,
    kubelet_dir: Path = typer.Option(
        Path(KUBELET_DIR), "--kubelet-dir", help="The kubelet's device-plugins directory."
    ),
    strategy: list[DeviceListStrategy] = typer.Option(
        [DeviceListStrategy.ENVVAR],
        "--device-list-strategy",
        help="How containers are given devices; repeat to combine.",
    ),
    cdi_dir: Path | None = typer.Option(
        None,
        "--cdi-dir",
        help=f"Write the CDI spec here (default {CDI_SPEC_DIR} with a cdi-* strategy).",
    ),
    labels_file: Path | None = typer.Option(
        None,
        "--labels-file",
        help="Write the GFD labels to this NFD feature file, "
        f"e.g. {NFD_FEATURES_DIR}/{NFD_FILE_NAME}.",
    ),
    hold_down: float = typer.Option(
        DEFAULT_HOLD_DOWN,
        "--recovery-seconds",
        min=0.0,
        help="Quiet seconds after an XID before a device that answers again is healthy.",
    ),
    metrics_port: int | None = typer.Option(
        None,
        "--metrics-port",
        min=0,
        max=65535,
        help="Serve dcgm-exporter-compatible GPU metrics on this port (dcgm-exporter's is "
        "9400); none: no metrics endpoint.",
    ),
    metrics_address: str = typer.Option(
        "0.0.0.0", "--metrics-address", help="The address the metrics endpoint listens on."
    ),
    pod_resources: Path | None = _POD_RESOURCES,
    log_level: LogLevel = typer.Option(LogLevel.INFO, "--log-level", help="How much to log."),
    kubeconfig: Path | None = typer.Option(
        None,
        "--kubeconfig",
        help="Reach the API server with this kubeconfig (in a pod: the service account). With "
        "API access the agent hands the kubelet the devices the gpuplane scheduler chose and "
        "patches its Node's GPU labels.",
    ),
    context: str | None = typer.Option(None, "--context", help="The kubeconfig context to use."),
    node_name: str | None = typer.Option(
        None,
        "--node-name",
        help="This node's name, to watch only its pods and patch only its Node (default: "
        "$NODE_NAME, which a DaemonSet sets from spec.nodeName). Turns API access on.",
    ),
) -> None:
    """Run the node agent: labels, CDI spec, device plugins, health and metrics, until SIGTERM."""
    # Imported here: gRPC is only needed by the agent, not by every gpuplane command.
    from gpuplane.node.agent import AgentOptions, NodeAgent

    logs.configure(log_level.value)
    if cdi_dir is None and set(strategy) & CDI_STRATEGIES:
        cdi_dir = Path(CDI_SPEC_DIR)
    options = AgentOptions(
        kubelet_dir=kubelet_dir,
        strategies=tuple(dict.fromkeys(strategy)),
        cdi_dir=cdi_dir,
        labels_file=labels_file,
        policy=XidPolicy.from_env(os.environ),
        hold_down=hold_down,
        api=_api_access(kubeconfig, context, node_name),
    )
    source = _backend(backend, inventory)
    agent = NodeAgent(source, _config(config), options)
    server = None
    if metrics_port is not None:
        from gpuplane.telemetry.server import serve_exporter

        try:
            server = serve_exporter(
                _exporter(source, pod_resources), metrics_address, metrics_port
            )
        except OSError as exc:
            source.close()
            raise InputError(
                f"cannot serve metrics on {metrics_address}:{metrics_port}: {exc.strerror}",
                hint="choose a free --metrics-port",
            ) from None
        logs.log_event(logs.get_logger(), logging.INFO, "serving metrics", url=server.url)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        logs.log_event(
            logs.get_logger(), logging.INFO, "shutting down", signal=signal.Signals(signum).name
        )
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        agent.run(stop)
    finally:
        if server is not None:
            server.stop()
    if agent.replan.is_set():
        # The Node's sharing labels changed: exit so that the DaemonSet starts the agent afresh,
        # which then reads them (as the device plugin restarts when its config label changes).
        logs.log_event(logs.get_logger(), logging.INFO, "exiting to apply the Node's new labels")
