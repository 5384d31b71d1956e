"""The node agent: discovery, labels, CDI specs, one device plugin per resource, and health.

Start-up, in order: read the inventory from the backend; with API access, read the Node's
labels (fractional GPUs are theirs to say); plan the node's devices under the sharing config
(`gpuplane.node.devices`); write the GFD labels as an NFD feature file and the
CDI spec, when asked; with API access, watch the pods bound to this node and keep the Node's
labels (`gpuplane.node.apiserver`); serve one DevicePlugin per resource on its socket in the
kubelet's directory; register each with the kubelet. Then two threads run until `stop()`:

* health: takes the backend's events, applies the XID policy, probes sick devices for
  recovery, and publishes the unhealthy set; every ListAndWatch stream wakes on a change and
  sends its list when one of its devices changed, well within a second;
* kubelet: polls kubelet.sock and the plugins' sockets. A new kubelet.sock (the kubelet
  restarted and wiped the directory) or a plugin socket gone makes the agent serve fresh
  sockets and register again; while no kubelet answers it retries, with backoff.

`stop()` stops both threads and the servers and removes the sockets, leaving the directory
as it found it. Should the Node's fractional sharing labels change, `replan` is set and
`run()` returns, so that the agent is started afresh (the DaemonSet restarts it).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from gpuplane.errors import InputError, Location
from gpuplane.files import write_atomic
from gpuplane.node.allocate import CDI_STRATEGIES, AllocateOptions, DeviceListStrategy
from gpuplane.node.apiserver import ApiAccess, NodeApi, read_node_labels
from gpuplane.node.backend import Backend
from gpuplane.node.cdi import cdi_spec, write_spec
from gpuplane.node.devices import NodePlan, plan_node
from gpuplane.node.health import DEFAULT_HOLD_DOWN, HealthTracker, XidPolicy
from gpuplane.node.kubelet_api import KUBELET_DIR
from gpuplane.node.labels import feature_file, node_labels
from gpuplane.node.logs import get_logger, log_event
from gpuplane.node.plugin import DevicePluginService, HealthBoard, PluginServer, socket_name
from gpuplane.node.registration import (
    KubeletSocket,
    RegistrationError,
    SocketIdentity,
    register,
)
from gpuplane.sharing import DevicePluginConfig, fractional_from_labels

log = get_logger()


@dataclass(frozen=True)
class AgentOptions:
    """How the agent runs; the defaults are a real node's paths."""

    kubelet_dir: Path = Path(KUBELET_DIR)
    strategies: tuple[DeviceListStrategy, ...] = (DeviceListStrategy.ENVVAR,)
    #: Where to write the CDI spec; None writes none (CDI strategies then need one).
    cdi_dir: Path | None = None
    #: An NFD feature file to write the labels to; None writes none.
    labels_file: Path | None = None
    policy: XidPolicy = field(default_factory=XidPolicy)
    hold_down: float = DEFAULT_HOLD_DOWN
    #: How often the kubelet's socket is checked, and the longest wait for health events.
    poll_interval: float = 0.2
    register_timeout: float = 5.0
    socket_prefix: str = "gpuplane"
    #: API access scoped to this node: the scheduler's device choices and the Node's labels;
    #: None serves as the NVIDIA plugin does, with labels in the feature file only.
    api: ApiAccess | None = None


class NodeAgent:
    """Runs every part of the node agent against one backend."""

    def __init__(
        self,
        backend: Backend,
        config: DevicePluginConfig | None = None,
        options: AgentOptions | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.backend = backend
        self.config = config
        self.options = options or AgentOptions()
        self._clock = clock
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._servers: dict[str, PluginServer] = {}
        self._registered: dict[str, SocketIdentity] = {}
        self.kubelet = KubeletSocket(self.options.kubelet_dir)
        self.plan: NodePlan | None = None
        self.board: HealthBoard | None = None
        self.tracker: HealthTracker | None = None
        self.api: NodeApi | None = None
        #: Set when the Node's labels ask for other sharing than the agent serves.
        self.replan = threading.Event()

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Discover, write labels and CDI spec, serve and register; then return."""
        opts = self.options
        if set(opts.strategies) & CDI_STRATEGIES and opts.cdi_dir is None:
            raise ValueError("CDI device list strategies need a CDI spec directory")
        inventory = self.backend.inventory()
        for warning in inventory.warnings:
            log_event(log, logging.WARNING, warning, backend=self.backend.name)
        fractional = None
        if opts.api is not None:
            fractional = fractional_from_labels(read_node_labels(opts.api))
        plan = plan_node(inventory, self.config, fractional)
        self.plan = plan
        log_event(
            log,
            logging.INFO,
            "inventory",
            backend=self.backend.name,
            gpus=len(inventory.gpus),
            model=plan.model.product,
            driver=inventory.driver_version,
            resources=plan.advertised(),
        )
        if not plan.devices:
            log_event(
                log,
                logging.WARNING,
                "nothing to advertise: the GPUs are in MIG mode and migStrategy is none",
                hint="set flags.migStrategy to single or mixed in the device plugin config",
            )
        if opts.labels_file is not None:
            with _writing(opts.labels_file, "the labels file"):
                write_atomic(opts.labels_file, feature_file(node_labels(plan)))
            log_event(log, logging.INFO, "labels written", file=str(opts.labels_file))
        if opts.cdi_dir is not None:
            with _writing(opts.cdi_dir, "the CDI spec"):
                path = write_spec(cdi_spec(inventory), opts.cdi_dir)
            log_event(log, logging.INFO, "CDI spec written", file=str(path))
        if opts.api is not None:
            self.api = NodeApi(opts.api, plan, node_labels(plan), self._replan)
            self.api.start()
        assigned = self.api.assigned if self.api is not None else None
        uuids = [gpu.uuid for gpu in inventory.gpus]
        uuids += [mig.uuid for gpu in inventory.gpus for mig in gpu.mig_devices]
        parents = inventory.parents()
        self.tracker = HealthTracker(opts.policy, uuids, parents, opts.hold_down)
        self.board = HealthBoard(parents)
        allocate_options = AllocateOptions(strategies=opts.strategies)
        with _writing(opts.kubelet_dir, "the kubelet's device-plugins directory"):
            opts.kubelet_dir.mkdir(parents=True, exist_ok=True)
        for resource, devices in plan.resources().items():
            service = DevicePluginService(
                resource,
                devices,
                plan.sharing,
                self.board,
                allocate_options,
                self._stopping,
                assigned,
            )
            socket = opts.kubelet_dir / socket_name(resource, opts.socket_prefix)
            server = PluginServer(service, socket)
            with _writing(socket, "a plugin socket"):
                server.start()
            self._servers[resource] = server
            log_event(log, logging.INFO, "serving", resource=resource, socket=str(socket))
        self._sync_kubelet()
        for name, target in (("health", self._health_loop), ("kubelet", self._kubelet_loop)):
            thread = threading.Thread(target=target, name=f"gpuplane-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        """Stop the threads and servers and remove the sockets; safe to call twice."""
        self._stopping.set()
        if self.board is not None:
            self.board.wake()
        for thread in self._threads:
            thread.join(timeout=5.0)
        self._threads.clear()
        for resource, server in self._servers.items():
            server.stop()
            log_event(log, logging.INFO, "stopped", resource=resource)
        self._servers.clear()
        self._registered.clear()
        if self.api is not None:
            self.api.stop()
            self.api = None
        self.backend.close()

    def run(self, until: threading.Event) -> None:
        """Start, serve until `until` is set (by SIGTERM, say) or `replan`, then stop."""
        try:
            self.start()
            while not until.wait(self.options.poll_interval) and not self.replan.is_set():
                pass
        finally:
            # Also after a failed start: servers already started must not leave sockets behind.
            self.stop()

    def _replan(self) -> None:
        self.replan.set()

    @property
    def sockets(self) -> dict[str, Path]:
        """Each served resource's socket path."""
        return {resource: server.socket for resource, server in self._servers.items()}

    # ------------------------------------------------------------------- kubelet

    def _kubelet_loop(self) -> None:
        backoff = self.options.poll_interval
        while not self._stopping.wait(backoff):
            try:
                done = self._sync_kubelet()
            except Exception:
                log.exception("kubelet sync failed")
                done = False
            # Retry a missing kubelet with backoff, but notice a restart within one poll.
            backoff = self.options.poll_interval if done else min(backoff * 2, 2.0)

    def _sync_kubelet(self) -> bool:
        """Serve and register what the current kubelet lacks; False while it cannot be done."""
        kubelet = self.kubelet.identity()
        if kubelet is None:
            return False
        ok = True
        for resource, server in self._servers.items():
            fresh = self._registered.get(resource) == kubelet and server.serving
            if fresh:
                continue
            if not server.serving or resource in self._registered:
                # A new kubelet wiped our socket (or will not dial a stale one): serve anew.
                server.start()
                log_event(log, logging.INFO, "socket recreated", resource=resource)
            try:
                register(
                    self.kubelet.path,
                    server.socket.name,
                    resource,
                    timeout=self.options.register_timeout,
                )
            except RegistrationError as exc:
                log_event(
                    log, logging.WARNING, "registration failed", resource=resource, error=str(exc)
                )
                self._registered.pop(resource, None)
                ok = False
                continue
            self._registered[resource] = kubelet
            log_event(
                log, logging.INFO, "registered", resource=resource, endpoint=server.socket.name
            )
        return ok

    # -------------------------------------------------------------------- health

    def _health_loop(self) -> None:
        assert self.tracker is not None and self.board is not None
        tracker, board = self.tracker, self.board
        while not self._stopping.is_set():
            try:
                events = self.backend.wait_events(self.options.poll_interval)
                now = self._clock()
                changes, notes = tracker.apply(events, now)
                changes += tracker.recover(self.backend.probe, now)
            except Exception:
                log.exception("health check failed")
                self._stopping.wait(self.options.poll_interval)
                continue
            for note in notes:
                log_event(log, logging.INFO, note)
            for change in changes:
                level = logging.INFO if change.healthy else logging.WARNING
                state = "healthy" if change.healthy else "unhealthy"
                log_event(log, level, f"device {state}", device=change.uuid, reason=change.reason)
            if changes:
                board.publish(tracker.unhealthy())


@contextmanager
def _writing(path: Path, what: str) -> Iterator[None]:
    """Turn a failure to write `what` at `path` into a message for people."""
    try:
        yield
    except OSError as exc:
        raise InputError(
            f"cannot write {what}: {exc.strerror or exc}",
            where=Location(str(path)),
            hint="the node agent runs as root on a node, or is given paths it may write",
        ) from None
    except RuntimeError as exc:
        # gRPC reports a socket it cannot bind as a RuntimeError.
        raise InputError(f"cannot serve {what}: {exc}", where=Location(str(path))) from None
