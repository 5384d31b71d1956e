"""The scheduler's devices as the plugin's answers: preferred allocations and Allocate checks.

With API access the agent answers a request that matches a pod's assignment (`PodBook.match`)
with exactly the scheduler's devices, and refuses an Allocate for other devices, or for
devices that are unhealthy, naming the pod. A request no assignment explains (a pod bound by
another scheduler) is answered as without API access. Because the pod watch may lag the
kubelet by a moment, a request first waits up to `wait_s` for an assignment to arrive,
unless a pending pod without one explains it already.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from gpuplane.node.allocate import AllocationError
from gpuplane.node.logs import get_logger, log_event
from gpuplane.node.pod_book import BookedPod, PodBook, PodKey, Share

log = get_logger()
#: How long a request waits for the pod watch to deliver the pod it belongs to.
DEFAULT_WAIT_S = 2.0
_SHOWN = 8

#: Called once a pod has all its devices, with its key and uid (to mark it allocated).
OnAllocated = Callable[[PodKey, str], None]


@dataclass(frozen=True)
class Claim:
    """An Allocate request matched to a pod's share, to be committed once answered."""

    pod: BookedPod
    index: int
    share: Share


class AssignedDevices:
    """The plugins' view of the pod book."""

    def __init__(
        self,
        book: PodBook,
        on_allocated: OnAllocated,
        wait_s: float = DEFAULT_WAIT_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.book = book
        self._on_allocated = on_allocated
        self._wait_s = wait_s
        self._clock = clock

    def _find(self, resource: str, count: int) -> tuple[BookedPod, int] | None:
        deadline = self._clock() + self._wait_s
        while True:
            version = self.book.version
            found = self.book.match(resource, count)
            if found is not None or self.book.unassigned_asks(resource, count):
                return found
            left = deadline - self._clock()
            if left <= 0:
                log_event(
                    log,
                    logging.WARNING,
                    "no pod assignment explains the request; answering without one",
                    resource=resource,
                    devices=count,
                    pending=self.book.pending(resource)[:_SHOWN],
                )
                return None
            self.book.wait(version, left)

    def preferred(
        self, resource: str, available: Sequence[str], must: Sequence[str], size: int
    ) -> list[str] | None:
        """The scheduler's devices for this request; None when no assignment explains it."""
        found = self._find(resource, size)
        if found is None:
            return None
        pod, index = found
        share = pod.shares[index]
        offered = list(dict.fromkeys([*must, *available]))
        picked = share.pick(offered)
        if picked is None:
            raise AllocationError(
                f"pod {share.pod_name} container {share.container}: the scheduler's devices "
                f"{share.describe()} are not all available here (in use or unhealthy); "
                f"available: {_ids(offered)}"
            )
        stray = [i for i in must if i not in picked]
        if stray:
            raise AllocationError(
                f"pod {share.pod_name} container {share.container}: the kubelet must include "
                f"{_ids(stray)}, which the scheduler did not assign ({share.describe()})"
            )
        return picked

    def claim(
        self, resource: str, ids: Sequence[str], healthy: Callable[[str], bool]
    ) -> Claim | None:
        """The pod share these devices serve; AllocationError when they are not the ones."""
        found = self._find(resource, len(ids))
        if found is None:
            return None
        pod, index = found
        share = pod.shares[index]
        asked = list(ids)
        picked = share.pick(asked)
        if picked is None:
            wrong = [i for i in asked if not any(i in slot for slot in share.slots)]
            raise AllocationError(
                f"pod {share.pod_name} container {share.container} was assigned "
                f"{share.describe()} by the scheduler, but the kubelet asks for {_ids(asked)}"
                + (f" (not assigned: {_ids(wrong)})" if wrong else "")
            )
        sick = [i for i in asked if not healthy(i)]
        if sick:
            raise AllocationError(
                f"pod {share.pod_name} container {share.container}: assigned device(s) "
                f"{_ids(sick)} are unhealthy"
            )
        return Claim(pod, index, share)

    def commit(self, claim: Claim) -> None:
        """The kubelet was answered: the share is served; a pod served in full is marked."""
        if self.book.serve(claim.pod, claim.index):
            self._on_allocated(claim.pod.key, claim.pod.uid)


def _ids(ids: Sequence[str]) -> str:
    shown = ", ".join(ids[:_SHOWN])
    return f"[{shown}{', ...' if len(ids) > _SHOWN else ''}]"
