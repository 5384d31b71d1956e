"""What the scheduler tells people: Events on pods and the pods' PodScheduled condition.

The wording is kube-scheduler's (kubernetes pkg/scheduler/schedule_one.go), so that `kubectl
describe pod` reads the same whichever scheduler placed the pod:

* success, finishBinding: `Eventf(assumed, nil, v1.EventTypeNormal, "Scheduled", "Binding",
  "Successfully assigned %v/%v to %v", assumed.Namespace, assumed.Name, targetNode)`;
* failure, handleSchedulingFailure: `Eventf(pod, nil, v1.EventTypeWarning, "FailedScheduling",
  "Scheduling", msg)` with the FitError text truncated to NoteLengthLimit (1024 bytes, " ..."
  ending), and the condition `{Type: PodScheduled, Status: False, Reason: Unschedulable,
  Message: errMsg}` written through the status subresource.

Events are events.k8s.io/v1, as kube-scheduler writes them today: it records through
client-go's new recorder (k8s.io/client-go/tools/events, `NewRecorder(scheme, schedulerName)`),
which writes events.k8s.io/v1 Events with reportingController = the scheduler's name,
reportingInstance = "<controller>-<hostname>", an `action` and a `note`; core/v1 Events are the
old recorder's, which kube-scheduler left in 1.19.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import httpx2

from gpuplane.live.cache import PodRecord
from gpuplane.live.kube import ApiStatusError, api_path
from gpuplane.live.reflector import Obj

log = logging.getLogger(__name__)

NORMAL, WARNING = "Normal", "Warning"
SCHEDULED, FAILED_SCHEDULING = "Scheduled", "FailedScheduling"
BINDING_ACTION, SCHEDULING_ACTION = "Binding", "Scheduling"
UNSCHEDULABLE_REASON = "Unschedulable"  # v1.PodReasonUnschedulable
NOTE_LENGTH_LIMIT = 1024  # validation.NoteLengthLimit
MERGE_PATCH = {"Content-Type": "application/merge-patch+json"}


def scheduled_message(namespace: str, name: str, node: str) -> str:
    return f"Successfully assigned {namespace}/{name} to {node}"


def truncate_note(message: str) -> str:
    """kube-scheduler's truncateMessage: at most NoteLengthLimit bytes, ending " ..."."""
    data = message.encode()
    if len(data) <= NOTE_LENGTH_LIMIT:
        return message
    suffix = " ..."
    return data[: NOTE_LENGTH_LIMIT - len(suffix)].decode(errors="ignore") + suffix


def micro_time(now: datetime) -> str:
    """A MicroTime (RFC 3339 with microseconds), as events.k8s.io/v1 eventTime is."""
    return now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class EventRecorder:
    """Writes Events about pods and their PodScheduled condition; API errors are logged, not
    raised: an event that could not be written must not stop scheduling."""

    def __init__(
        self,
        http: httpx2.AsyncClient,
        controller: str,
        *,
        instance: str | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.http = http
        self.controller = controller
        self.instance = instance or f"{controller}-{socket.gethostname()}"
        self.now = now
        self.written = 0

    async def event(
        self, record: PodRecord, type_: str, reason: str, action: str, note: str
    ) -> None:
        now = self.now()
        body: Obj = {
            "apiVersion": "events.k8s.io/v1",
            "kind": "Event",
            # client-go names an event "<object name>.<nanoseconds, hex>"
            "metadata": {
                "name": f"{record.name}.{int(now.timestamp() * 1e9):x}",
                "namespace": record.namespace,
            },
            "eventTime": micro_time(now),
            "reportingController": self.controller,
            "reportingInstance": self.instance,
            "action": action,
            "reason": reason,
            "type": type_,
            "note": truncate_note(note),
            "regarding": {
                "apiVersion": "v1",
                "kind": "Pod",
                "namespace": record.namespace,
                "name": record.name,
                "uid": record.uid,
            },
        }
        path = api_path("events.k8s.io", "v1", "events", record.namespace)
        await self._send("event", record.key, self.http.post(path, json=body))

    async def scheduled(self, record: PodRecord, node: str) -> None:
        message = scheduled_message(record.namespace, record.name, node)
        await self.event(record, NORMAL, SCHEDULED, BINDING_ACTION, message)

    async def failed(self, record: PodRecord, message: str) -> None:
        """FailedScheduling, and PodScheduled=False/Unschedulable unless it already says so."""
        await self.event(record, WARNING, FAILED_SCHEDULING, SCHEDULING_ACTION, message)
        status = record.obj.get("status") or {}
        conditions: list[Obj] = list(status.get("conditions") or [])
        current = next((c for c in conditions if c.get("type") == "PodScheduled"), None)
        wanted = {"status": "False", "reason": UNSCHEDULABLE_REASON, "message": message}
        if current is not None and all(current.get(k) == v for k, v in wanted.items()):
            return  # kube-scheduler's updatePod skips a write that changes nothing
        transition = (
            current.get("lastTransitionTime")
            if current is not None and current.get("status") == "False"
            else None
        ) or self.now().strftime("%Y-%m-%dT%H:%M:%SZ")
        condition = {
            "type": "PodScheduled",
            **wanted,
            "lastProbeTime": None,
            "lastTransitionTime": transition,
        }
        others = [c for c in conditions if c.get("type") != "PodScheduled"]
        patch = {"status": {"conditions": [*others, condition]}}
        path = api_path("", "v1", "pods", record.namespace, record.name) + "/status"
        await self._send(
            "condition", record.key, self.http.patch(path, json=patch, headers=MERGE_PATCH)
        )

    async def _send(self, what: str, key: str, request: Awaitable[httpx2.Response]) -> None:
        try:
            reply = await request
        except httpx2.HTTPError as err:
            log.warning("pod %s: writing the %s failed: %r", key, what, err)
            return
        if reply.status_code >= 300:
            error = ApiStatusError.from_reply(reply.status_code, reply.headers, reply.content)
            log.warning("pod %s: writing the %s failed: %s", key, what, error)
            return
        self.written += 1
