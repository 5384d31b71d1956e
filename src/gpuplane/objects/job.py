"""batch/v1 Job: a pod template run `parallelism` times at once."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from gpuplane.errors import Location
from gpuplane.objects.hints import SimHints
from gpuplane.objects.pod import Pod


@dataclass(frozen=True)
class Job:
    name: str
    namespace: str
    template: Pod
    parallelism: int = 1
    completions: int | None = 1
    completion_mode: str = "NonIndexed"
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    #: The Job's simulator hints (its own annotations first, then its pod template's).
    sim: SimHints = field(default_factory=SimHints)
    source: Location = field(default_factory=Location)

    def active_pods(self) -> list[Pod]:
        """The pods the Job controller creates at once: min(parallelism, completions)."""
        n = (
            self.parallelism
            if self.completions is None
            else min(self.parallelism, self.completions)
        )
        # The Job controller names pods <job>-<random>; an index makes them stable here.
        return [
            replace(
                self.template, name=f"{self.name}-{i}", namespace=self.namespace, owner=self.name
            )
            for i in range(n)
        ]
