"""What the simulator remembers about each workload: its runs, its progress, its times."""

from __future__ import annotations

from dataclasses import dataclass

from gpuplane.queueing.workload import Workload


@dataclass
class WorkloadRecord:
    """One workload's life in a simulation; times in seconds of virtual time.

    `progress` is the work saved at the last checkpoint: after an eviction the workload has
    `duration - progress` left to run. `run` counts the runs started, so that the completion
    event of a run that was cut short can be told apart and ignored.
    """

    workload: Workload
    queue: str  # the ClusterQueue
    arrival: float
    gpu_milli: int
    first_admitted: float | None = None
    #: When its pods first ran: later than first_admitted where quota was reserved before
    #: the pods could be placed (quota-only admission, as Kueue does).
    first_started: float | None = None
    started: float | None = None  # start of the current run; None while not running
    run: int = 0
    progress: float = 0.0
    finished: float | None = None
    lost: float = 0.0  # seconds of work thrown away by evictions
    evictions: int = 0
    rejected: str | None = None  # why it could never be queued

    @property
    def duration(self) -> float | None:
        return self.workload.duration

    @property
    def running(self) -> bool:
        return self.started is not None

    def remaining(self) -> float | None:
        """Work left from the last checkpoint (None for a workload that runs until stopped)."""
        if self.duration is None:
            return None
        return max(0.0, self.duration - self.progress)

    def expected_end(self) -> float | None:
        """When the current run finishes if nothing stops it."""
        left = self.remaining()
        if self.started is None or left is None:
            return None
        return self.started + left

    def stop(self, now: float) -> float:
        """End the current run early: keep the work up to its last checkpoint, return the loss.

        Checkpoints are taken every `checkpoint_interval` seconds of a run, counted from the
        run's start (a restarted workload resumes from its checkpoint and counts again).
        """
        if self.started is None:
            return 0.0
        ran = max(0.0, now - self.started)
        interval = self.workload.checkpoint_interval
        saved = (ran // interval) * interval if interval else 0.0
        if self.duration is not None:
            saved = min(saved, self.remaining() or 0.0)
        self.progress += saved
        lost = ran - saved
        self.lost += lost
        self.started = None
        return lost

    def start(self, now: float) -> int:
        """Begin a run now; returns its number (its completion event carries it)."""
        self.run += 1
        self.started = now
        if self.first_started is None:
            self.first_started = now
        return self.run
