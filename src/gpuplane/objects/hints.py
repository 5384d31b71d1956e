"""gpuplane's own annotations for the simulator: how long a workload runs, how often it saves."""

from __future__ import annotations

from dataclasses import dataclass

#: How long the workload runs once started: a Go duration ("2h30m") or seconds ("9000").
DURATION_ANNOTATION = "gpuplane.io/duration"
#: How often it checkpoints, so a preempted workload loses at most this much work.
CHECKPOINT_INTERVAL_ANNOTATION = "gpuplane.io/checkpoint-interval"


@dataclass(frozen=True)
class SimHints:
    """What the simulator needs beyond Kubernetes' own fields; seconds, None when not given."""

    duration: float | None = None
    checkpoint_interval: float | None = None

    def or_else(self, other: SimHints) -> SimHints:
        """These hints, each missing one taken from `other`."""
        return SimHints(
            duration=self.duration if self.duration is not None else other.duration,
            checkpoint_interval=(
                self.checkpoint_interval
                if self.checkpoint_interval is not None
                else other.checkpoint_interval
            ),
        )
