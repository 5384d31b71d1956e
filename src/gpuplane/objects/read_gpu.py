"""A pod's GPU request: each convention (whole, MIG, shared, HAMi, KAI) into one GpuRequest.

Containers are read one at a time into `GpuAsk`s; the pod then must ask one way only (one kind,
one share size, one MIG profile), and the counts add up like any other resource.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from gpuplane.catalog.resources import GPU, GPU_SHARED
from gpuplane.errors import Location, ManifestError, QuantityError
from gpuplane.limits import MAX_GPU_MEMORY_MIB
from gpuplane.objects.gpu_request import (
    HAMI_GPUCORES,
    HAMI_GPUMEM,
    HAMI_GPUMEM_PERCENTAGE,
    KAI_GPU_FRACTION,
    KAI_GPU_MEMORY,
    NO_GPU,
    WHOLE_GPU_MILLI,
    GpuKind,
    GpuRequest,
)
from gpuplane.objects.read_resources import ContainerDemand, effective
from gpuplane.objects.yamlio import Field
from gpuplane.quantity import parse_quantity

# mig-<g>g.<mem>gb with the optional compute-instance prefix (1c.) and the media-engine or
# graphics variants (+me, +gfx, -me, +me.all), which the device plugin advertises with "."
# for "+" (nvidia.com/mig-1g.10gb.me), a resource name holding no "+".
_MIG = re.compile(
    r"^nvidia\.com/mig-(?P<profile>(?:\d+c\.)?\d+g\.\d+gb(?:[+-][a-z.]+|\.me(?:\.all)?|\.gfx)?)$"
)
_HAMI = (HAMI_GPUMEM, HAMI_GPUMEM_PERCENTAGE, HAMI_GPUCORES)
_COUNT = "gpu"


def mig_profile(name: str) -> str | None:
    """The MIG profile of a resource name ("nvidia.com/mig-1g.10gb" -> "1g.10gb"), else None."""
    match = _MIG.match(name)
    return match["profile"] if match else None


def _is_shared(name: str) -> bool:
    # renameByDefault makes every replicated resource <name>.shared, MIG ones included.
    return name == GPU_SHARED or (name.startswith("nvidia.com/") and name.endswith(".shared"))


def is_gpu_resource(name: str) -> bool:
    """Whether a resource name is one of the GPU conventions (kept out of Pod.extended)."""
    return name == GPU or name in _HAMI or _is_shared(name) or mig_profile(name) is not None


@dataclass(frozen=True)
class GpuAsk:
    """One container's (or the pod annotations') way of asking for GPUs, and where it says so."""

    request: GpuRequest
    where: Location
    how: str
    path: str = ""


def container_asks(demand: ContainerDemand) -> list[GpuAsk]:
    """The GPU asks of one container; more than one means it mixes ways (refused later)."""
    amounts, where = demand.amounts, demand.where
    asks: list[GpuAsk] = []
    hami = [name for name in _HAMI if name in amounts]
    if hami:
        asks.append(_hami(amounts, where, hami, demand.path))
    elif amounts.get(GPU):
        request = GpuRequest(GpuKind.WHOLE, amounts[GPU], WHOLE_GPU_MILLI, resource=GPU)
        asks.append(GpuAsk(request, where[GPU], f"whole GPUs ({GPU})", demand.path))
    for name, count in amounts.items():
        if not count:
            continue
        if _is_shared(name):
            request = GpuRequest(GpuKind.SHARED, count, 0, resource=name)
            asks.append(GpuAsk(request, where[name], f"a shared GPU ({name})", demand.path))
        elif (profile := mig_profile(name)) is not None:
            request = GpuRequest(GpuKind.MIG, count, 0, mig_profile=profile, resource=name)
            asks.append(GpuAsk(request, where[name], f"a MIG slice ({name})", demand.path))
    return asks


def _hami(
    amounts: Mapping[str, int], where: Mapping[str, Location], named: list[str], path: str
) -> GpuAsk:
    # HAMi gives one vGPU when only memory or cores are named (its default GPU number is 1).
    count = amounts.get(GPU, 1)
    if count == 0:
        raise ManifestError(
            f"{', '.join(named)} need {GPU} of 1 or more (the number of GPUs to share)",
            where=where[GPU],
        )
    for name in (HAMI_GPUCORES, HAMI_GPUMEM_PERCENTAGE):
        if amounts.get(name, 0) > 100:
            raise ManifestError(
                f"must be a percentage from 0 to 100, got {amounts[name]}", where=where[name]
            )
    if HAMI_GPUMEM in amounts and HAMI_GPUMEM_PERCENTAGE in amounts:
        raise ManifestError(
            f"name GPU memory once: {HAMI_GPUMEM} (MiB) or {HAMI_GPUMEM_PERCENTAGE}, not both",
            where=where[HAMI_GPUMEM_PERCENTAGE],
        )
    cores = amounts.get(HAMI_GPUCORES)
    request = GpuRequest(
        GpuKind.FRACTION,
        count,
        # gpucores is a percent of one GPU; without it only memory is bounded.
        cores * WHOLE_GPU_MILLI // 100 if cores is not None else 0,
        memory_mib=amounts.get(HAMI_GPUMEM),
        memory_percent=amounts.get(HAMI_GPUMEM_PERCENTAGE),
        resource=GPU,
    )
    place = where.get(GPU) or where[named[0]]
    return GpuAsk(request, place, f"a HAMi GPU share ({', '.join(named)})", path)


def annotation_ask(annotations: Field) -> GpuAsk | None:
    """KAI scheduler's gpu-fraction / gpu-memory pod annotations, if present."""
    fraction, memory = annotations[KAI_GPU_FRACTION], annotations[KAI_GPU_MEMORY]
    if fraction.present and memory.present:
        raise memory.error(f"set {KAI_GPU_FRACTION} or {KAI_GPU_MEMORY}, not both")
    if fraction.present:
        text = fraction.string()
        amount = parse_quantity(text, fraction.where)
        if not 0 < amount <= 1:
            raise fraction.error(
                f"must be more than 0 and at most 1, got {text!r}",
                hint=f"for whole GPUs put {GPU} under the container's limits instead",
            )
        milli = math.ceil(amount * WHOLE_GPU_MILLI)
        request = GpuRequest(GpuKind.FRACTION, 1, milli, resource=KAI_GPU_FRACTION)
        how = f"a KAI GPU fraction (the {KAI_GPU_FRACTION} annotation)"
        return GpuAsk(request, fraction.where, how, fraction.where.field or "")
    if memory.present:
        text = memory.string().strip()
        if not text.isdigit() or not 0 < int(text[:20]) <= MAX_GPU_MEMORY_MIB:
            raise QuantityError(
                f"must be a whole number of MiB from 1 to {MAX_GPU_MEMORY_MIB:,}, "
                f"got {text[:40]!r}",
                where=memory.where,
                hint='write MiB as digits, e.g. "2000"',
            )
        request = GpuRequest(GpuKind.FRACTION, 1, 0, memory_mib=int(text), resource=KAI_GPU_MEMORY)
        how = f"KAI GPU memory (the {KAI_GPU_MEMORY} annotation)"
        return GpuAsk(request, memory.where, how, memory.where.field or "")
    return None


def pod_gpu(demands: Sequence[ContainerDemand], annotation: GpuAsk | None) -> GpuRequest:
    """The pod's one GpuRequest; asking several ways at once is a ManifestError."""
    per_container = [(demand, container_asks(demand)) for demand in demands]
    asks = [ask for _, container in per_container for ask in container]
    if annotation is not None:
        if asks:
            raise _annotation_clash(annotation, asks[0])
        return annotation.request
    if not asks:
        return NO_GPU
    first = asks[0]
    shape = replace(first.request, count=0)
    for ask in asks[1:]:
        if ask.request.kind is not first.request.kind:
            raise ManifestError(
                f"ask for GPUs one way per pod: {first.path} asks for {first.how} "
                f"and {ask.path} for {ask.how}",
                where=ask.where,
                hint="split the pod, or ask for the same kind of GPU in every container",
            )
        if replace(ask.request, count=0) != shape:
            raise ManifestError(
                f"ask for GPUs one way per pod: {first.path} asks for "
                f"{first.request.describe()} and {ask.path} for {ask.request.describe()}",
                where=ask.where,
                hint="gpuplane models one MIG profile, share size or shared resource per pod",
            )
    # Devices add up across containers and init phases like any other resource.
    counts = [
        replace(demand, amounts={_COUNT: sum(ask.request.count for ask in container)})
        for demand, container in per_container
    ]
    return replace(first.request, count=effective(counts).get(_COUNT, 0))


def _annotation_clash(annotation: GpuAsk, ask: GpuAsk) -> ManifestError:
    if ask.request.resource == GPU:
        return ManifestError(
            f"the pod asks for GPUs twice: {annotation.how} and {GPU} in {ask.path}",
            where=annotation.where,
            hint=f"KAI hands out the share itself: drop {GPU} from the container's resources",
        )
    return ManifestError(
        f"ask for GPUs one way per pod: {annotation.how} and {ask.how} in {ask.path}",
        where=annotation.where,
        hint="keep either the annotation or the container's GPU resources",
    )
