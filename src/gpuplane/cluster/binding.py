"""What one pod holds on one node (a Binding), and the errors and events of changing it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from gpuplane.objects.pod import Pod
from gpuplane.quantity import MIB

MigLayout = tuple[tuple[str, int], ...]


class CapacityError(RuntimeError):
    """A reserve that would over-allocate, or a release of something never reserved.

    This is a bug in the caller (the placement engine checks fit first), not bad user input.
    """


@dataclass(frozen=True)
class Binding:
    """What one pod holds on one node: the exact amounts, so release can undo them.

    `gpus`, `gpu_milli` and `gpu_memory_mib` are parallel: one entry per device or fraction
    taken, so a GPU appears twice when two replicas of it go to one pod. `devices` names the
    advertised devices taken (empty for fractions, which take shares, not devices).
    `extended` holds extended resources that are not backed by devices, as counts (and the
    native ones NodeResourcesFit checks, ephemeral-storage and the like, in bytes or counts).
    `memory_bytes` is the exact memory taken when known; None means `memory_mib` MiB.
    """

    pod: str  # namespace/name
    node: int
    cpu_milli: int
    memory_mib: int
    gpus: tuple[int, ...] = ()
    gpu_milli: tuple[int, ...] = ()
    gpu_memory_mib: tuple[int, ...] = ()
    devices: tuple[str, ...] = ()
    extended: Mapping[str, int] = field(default_factory=dict)
    memory_bytes: int | None = None

    @property
    def memory_taken_bytes(self) -> int:
        return self.memory_mib * MIB if self.memory_bytes is None else self.memory_bytes


@dataclass(frozen=True)
class MigReconfiguration:
    """A MIG GPU whose layout was reshaped (dynamic MIG): an event worth counting and showing."""

    node: str
    gpu: int
    before: MigLayout
    after: MigLayout


def binding_for(
    pod: Pod,
    node: int,
    gpus: Iterable[tuple[int, int, int]] = (),
    extended: Mapping[str, int] | None = None,
    devices: Sequence[str] = (),
) -> Binding:
    """A Binding of `pod` to `node`, taking (gpu index, milli, memory MiB) triples.

    `extended` defaults to the pod's own extended resources.
    """
    triples = tuple(gpus)
    return Binding(
        pod=pod.key,
        node=node,
        cpu_milli=pod.cpu_milli,
        memory_mib=pod.memory_mib,
        gpus=tuple(t[0] for t in triples),
        gpu_milli=tuple(t[1] for t in triples),
        gpu_memory_mib=tuple(t[2] for t in triples),
        devices=tuple(devices),
        extended=dict(pod.extended if extended is None else extended),
        memory_bytes=pod.memory_request_bytes,
    )
