"""Why a pending workload was not admitted: a typed refusal, with the text people read."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Refusal(Enum):
    """What stopped a workload; the value is the text shown when there is no detail."""

    NAMESPACE_QUOTA = "exceeds the ResourceQuota of its namespace"
    NO_FLAVOR = "no flavor of its ClusterQueue can hold it"
    INSUFFICIENT_QUOTA = "insufficient quota"
    CANNOT_PLACE = "the cluster cannot place all its pods now (quota is available)"
    RESERVED = (
        "waiting: a blocked gang holds a reservation and this would not finish before it"
    )

    @property
    def needs_room(self) -> bool:
        """Whether room freed anywhere in the cluster (not only quota) may end the refusal."""
        return self in (Refusal.CANNOT_PLACE, Refusal.RESERVED)


@dataclass(frozen=True)
class Reason:
    """A refusal and, where it says more, the specific text (which quota, which resource)."""

    refusal: Refusal
    detail: str | None = None

    def __str__(self) -> str:
        return self.detail if self.detail is not None else self.refusal.value
