"""What a pod gets on its node, entry by entry, plus any MIG reshaping needed first."""

from __future__ import annotations

from dataclasses import dataclass

MigLayout = tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class Assignment:
    """Parallel tuples, one entry per device or share: GPU index, milli-GPU, MiB, device id.

    `devices` is empty for fractions (they take shares, not advertised devices).
    `reconfigure` lists (GPU, new MIG layout) to apply before reserving (dynamic MIG).
    `notes` says what a user should know, e.g. two replicas landing on one physical GPU.
    """

    gpus: tuple[int, ...] = ()
    milli: tuple[int, ...] = ()
    memory_mib: tuple[int, ...] = ()
    devices: tuple[str, ...] = ()
    reconfigure: tuple[tuple[int, MigLayout], ...] = ()
    notes: tuple[str, ...] = ()

    def __add__(self, other: Assignment) -> Assignment:
        return Assignment(
            self.gpus + other.gpus,
            self.milli + other.milli,
            self.memory_mib + other.memory_mib,
            self.devices + other.devices,
            self.reconfigure + other.reconfigure,
            self.notes + other.notes,
        )
