"""The agent's API access, scoped to its node: the pods bound to it, and its own Node's labels.

Before the devices are planned, `read_node_labels` reads the Node's labels once: whether its
GPUs are fractional, and cut into how many split devices, is theirs to say (the labels the
scheduler reads too). Should those labels change later, the agent is told (`on_replan`) and
restarts, as the NVIDIA device plugin does when its config label changes.

It runs an asyncio loop on a thread of its own (the device plugins are gRPC threads):

* a reflector on the pods with `spec.nodeName=<node>` keeps the `PodBook` the plugins match
  the kubelet's requests against; a pod that got all its devices is marked with the
  allocated annotation (`gpuplane.objects.assignment.ALLOCATED_ANNOTATION`);
* a reflector on its own Node keeps the GFD labels there: a JSON merge patch sets the labels
  the agent computes and removes those it wrote before that no longer apply. Which labels it
  wrote is kept in the Node annotation OWNED_LABELS_ANNOTATION (as NFD keeps its own in
  nfd.node.kubernetes.io/feature-labels), so it never touches a label another component set.
  The patch is sent at start and again whenever the Node stops carrying them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx2
from lightkube.config.kubeconfig import SingleConfig

from gpuplane import __version__
from gpuplane.errors import InputError
from gpuplane.live.kube import ApiStatusError, Kube, api_path
from gpuplane.live.reflector import Backoff, EventType, Kind, Reflector, WatchEvent
from gpuplane.node.assigned import DEFAULT_WAIT_S, AssignedDevices
from gpuplane.node.devices import NodePlan
from gpuplane.node.logs import get_logger, log_event
from gpuplane.node.pod_book import PodBook, PodKey
from gpuplane.objects.assignment import ALLOCATED, ALLOCATED_ANNOTATION
from gpuplane.sharing import GpuSharing, SharingKind, fractional_from_labels

log = get_logger()

USER_AGENT = f"gpuplane-node-agent/{__version__}"
#: The Node annotation listing, comma-separated, the label keys the agent wrote there.
OWNED_LABELS_ANNOTATION = "gpuplane.io/node-labels"
MERGE_PATCH = "application/merge-patch+json"


@dataclass(frozen=True)
class ApiAccess:
    """How the agent reaches the API server, and as which node."""

    config: SingleConfig
    node: str
    #: How long a kubelet request waits for the pod watch to deliver its pod.
    wait_s: float = DEFAULT_WAIT_S
    #: How long start() waits for the first list of pods before serving anyway.
    sync_timeout_s: float = 10.0
    patch_timeout_s: float = 5.0
    backoff: Backoff = field(default_factory=Backoff)
    seed: int = 0


def label_patch(node: Mapping[str, Any], labels: Mapping[str, str]) -> dict[str, Any] | None:
    """The merge patch that makes `node` carry `labels` as the agent's own; None when it does."""
    meta = node.get("metadata") or {}
    current = meta.get("labels") or {}
    owned_text = str((meta.get("annotations") or {}).get(OWNED_LABELS_ANNOTATION) or "")
    owned = {key for key in owned_text.split(",") if key}
    changes: dict[str, str | None] = {k: v for k, v in labels.items() if current.get(k) != v}
    changes.update({k: None for k in sorted(owned - labels.keys()) if k in current})
    owned_now = ",".join(sorted(labels))
    patch: dict[str, Any] = {}
    if changes:
        patch["labels"] = changes
    if owned_text != owned_now:
        patch["annotations"] = {OWNED_LABELS_ANNOTATION: owned_now}
    return {"metadata": patch} if patch else None


def read_node_labels(access: ApiAccess) -> dict[str, str]:
    """The Node's labels as they are now; retried with backoff for up to sync_timeout_s."""
    return asyncio.run(_read_node_labels(access))


async def _read_node_labels(access: ApiAccess) -> dict[str, str]:
    kube = Kube.connect(access.config)
    kube.http.headers["User-Agent"] = USER_AGENT
    rng = random.Random(access.seed)
    deadline = time.monotonic() + access.sync_timeout_s
    # A list by name, not a get: the agent's RBAC lists and watches its Node already.
    path = api_path("", "v1", "nodes")
    params = {"fieldSelector": f"metadata.name={access.node}"}
    attempt = 0
    try:
        while True:
            retry_after = None
            try:
                reply = await kube.http.get(path, params=params)
                if reply.status_code == 200:
                    return _labels_of(reply.json(), access.node)
                status = ApiStatusError.from_reply(reply.status_code, reply.headers, reply.content)
                error: Exception = status
                retry_after = status.retry_after
            except (httpx2.HTTPError, ValueError) as exc:
                error = exc
            wait = access.backoff.delay(attempt, rng, retry_after)
            if time.monotonic() + wait > deadline:
                raise InputError(
                    f"cannot read Node {access.node!r} from the API server: {error}",
                    hint="its labels say whether the GPUs are shared by fraction",
                )
            attempt += 1
            await asyncio.sleep(wait)
    finally:
        await kube.aclose()


def _labels_of(node_list: Mapping[str, Any], node: str) -> dict[str, str]:
    items = node_list.get("items") or []
    if not items:
        # The kubelet registers its Node before any pod runs here, so this is a test bench or
        # a wrong NODE_NAME: serve the config's sharing; should the Node appear with other
        # labels, the watch restarts the agent (`NodeApi._check_sharing`).
        log_event(log, logging.WARNING, "no such Node; serving without its labels", node=node)
        return {}
    return dict((items[0].get("metadata") or {}).get("labels") or {})


class NodeApi:
    """The pod watch, the allocated marks and the Node's labels, on a thread of their own."""

    def __init__(
        self,
        access: ApiAccess,
        plan: NodePlan,
        labels: Mapping[str, str],
        on_replan: Callable[[], None] | None = None,
    ) -> None:
        self.access = access
        self.labels = dict(labels)
        #: What the plan took from the Node's labels; a change calls `on_replan` (once).
        self._fractional = _fractional_of(plan)
        self._on_replan = on_replan
        self.book = PodBook(plan, access.node)
        self.assigned = AssignedDevices(self.book, self._mark_allocated, access.wait_s)
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._started = threading.Event()
        self._synced = threading.Event()
        self._node: dict[str, Any] | None = None
        self._node_changed: asyncio.Event | None = None
        self._kube: Kube | None = None

    def start(self) -> None:
        """Connect, start watching, and wait (bounded) for the first list of pods."""
        self._thread = threading.Thread(target=self._run, name="gpuplane-api", daemon=True)
        self._thread.start()
        self._started.wait(self.access.sync_timeout_s)
        if not self._synced.wait(self.access.sync_timeout_s):
            log_event(
                log,
                logging.WARNING,
                "pods on this node not listed yet; serving anyway",
                node=self.access.node,
            )

    def stop(self) -> None:
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(stop.set)
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            self._thread = None

    # ------------------------------------------------------------------ the loop

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except Exception:
            log.exception("the API access loop failed")
        finally:
            self._started.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._node_changed = asyncio.Event()
        kube = Kube.connect(self.access.config)
        kube.http.headers["User-Agent"] = USER_AGENT
        self._kube = kube
        rng = random.Random(self.access.seed)
        node = self.access.node
        pods = Reflector(
            kube.http,
            Kind("", "v1", "pods", field_selector=f"spec.nodeName={node}"),
            self._on_pod,
            rng,
            backoff=self.access.backoff,
        )
        nodes = Reflector(
            kube.http,
            Kind("", "v1", "nodes", field_selector=f"metadata.name={node}"),
            self._on_node,
            rng,
            backoff=self.access.backoff,
        )
        tasks = [
            asyncio.create_task(pods.run()),
            asyncio.create_task(nodes.run()),
            asyncio.create_task(self._keep_labels()),
            asyncio.create_task(self._note_synced(pods)),
        ]
        self._started.set()
        try:
            await self._stop.wait()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await kube.aclose()

    async def _note_synced(self, pods: Reflector) -> None:
        await pods.synced.wait()
        self._synced.set()

    async def _on_pod(self, event: WatchEvent) -> None:
        try:
            if event.type is EventType.DELETED:
                self.book.remove(event.obj)
            else:
                self.book.update(event.obj)
        except Exception:
            # One odd pod must not stop the watch that every other pod's devices depend on.
            log.exception("cannot read pod %s/%s", *event.key)

    async def _on_node(self, event: WatchEvent) -> None:
        assert self._node_changed is not None
        self._node = None if event.type is EventType.DELETED else event.obj
        self._node_changed.set()
        if self._node is not None:
            self._check_sharing(self._node)

    def _check_sharing(self, node: Mapping[str, Any]) -> None:
        """Ask for a restart when the Node's labels now say other fractional sharing."""
        labels = (node.get("metadata") or {}).get("labels") or {}
        try:
            wanted = fractional_from_labels(labels)
        except InputError as exc:
            log_event(log, logging.WARNING, "the Node's sharing labels are invalid", error=str(exc))
            return
        if wanted == self._fractional or self._on_replan is None:
            return
        log_event(
            log,
            logging.WARNING,
            "the Node's fractional sharing labels changed; restarting to advertise them",
            node=self.access.node,
        )
        on_replan, self._on_replan = self._on_replan, None
        on_replan()

    async def _keep_labels(self) -> None:
        """Patch the Node whenever it does not carry the agent's labels; retry with backoff."""
        assert self._node_changed is not None and self._kube is not None
        rng = random.Random(self.access.seed + 1)
        attempt = 0
        while True:
            await self._node_changed.wait()
            self._node_changed.clear()
            node = self._node
            patch = label_patch(node, self.labels) if node is not None else None
            if patch is None:
                continue
            path = api_path("", "v1", "nodes", name=self.access.node)
            try:
                await self._patch(path, patch)
            except Exception as exc:
                log_event(log, logging.WARNING, "node labels not patched", error=str(exc))
                await asyncio.sleep(self.access.backoff.delay(attempt, rng))
                attempt += 1
                self._node_changed.set()  # try again with what the watch holds then
                continue
            attempt = 0
            log_event(
                log,
                logging.INFO,
                "node labels patched",
                node=self.access.node,
                changed=sorted((patch["metadata"].get("labels") or {}).keys()),
            )

    async def _patch(self, path: str, body: Mapping[str, Any]) -> None:
        assert self._kube is not None
        reply = await self._kube.http.patch(
            path, content=json.dumps(body), headers={"Content-Type": MERGE_PATCH}
        )
        if reply.status_code != 200:
            raise ApiStatusError.from_reply(reply.status_code, reply.headers, reply.content)

    # ------------------------------------------------------------- from the plugins

    def _mark_allocated(self, key: PodKey, uid: str) -> None:
        """Annotate a pod that got all its devices (from a gRPC thread; bounded wait)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        path = api_path("", "v1", "pods", namespace=key[0], name=key[1])
        body = {"metadata": {"annotations": {ALLOCATED_ANNOTATION: ALLOCATED}}}
        future = asyncio.run_coroutine_threadsafe(self._patch(path, body), loop)
        try:
            future.result(self.access.patch_timeout_s)
        except Exception as exc:
            # The book already holds the pod as served; only a restarted agent would not know.
            log_event(
                log,
                logging.WARNING,
                "pod not marked allocated",
                pod=f"{key[0]}/{key[1]}",
                uid=uid,
                error=str(exc) or type(exc).__name__,
            )
            return
        log_event(log, logging.INFO, "pod allocated", pod=f"{key[0]}/{key[1]}", uid=uid)


def _fractional_of(plan: NodePlan) -> GpuSharing | None:
    default = plan.sharing.default
    return default if default.kind is SharingKind.FRACTIONAL else None
