"""What a pod gets on its node, entry by entry, plus any MIG reshaping needed first."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gpuplane.sharing import Device

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

    @staticmethod
    def of_devices(
        devices: Sequence[Device],
        reconfigure: tuple[tuple[int, MigLayout], ...] = (),
        notes: tuple[str, ...] = (),
    ) -> Assignment:
        """An assignment of whole advertised devices, each taking its nominal share."""
        return Assignment(
            gpus=tuple(d.gpu for d in devices),
            milli=tuple(d.milli for d in devices),
            memory_mib=tuple(d.memory_mib for d in devices),
            devices=tuple(d.id for d in devices),
            reconfigure=reconfigure,
            notes=notes,
        )

    def __add__(self, other: Assignment) -> Assignment:
        return Assignment(
            self.gpus + other.gpus,
            self.milli + other.milli,
            self.memory_mib + other.memory_mib,
            self.devices + other.devices,
            self.reconfigure + other.reconfigure,
            self.notes + other.notes,
        )
