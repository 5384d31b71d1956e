"""Container resources: the API server's rules for requests and limits, and the pod's sum.

The sum is kube-scheduler's: app containers add up, each init container runs alone (plus the
sidecars started before it), sidecars (init containers with restartPolicy: Always) keep running
beside the app containers, and the pod's overhead comes on top.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from gpuplane.catalog.resources import GPU
from gpuplane.errors import Location, QuantityError
from gpuplane.limits import MAX_EXTENDED_COUNT, MAX_GPU_MEMORY_MIB
from gpuplane.objects.gpu_request import HAMI_GPUMEM
from gpuplane.objects.yamlio import Field
from gpuplane.quantity import millicores, parse_quantity, to_bytes

CPU = "cpu"
MEMORY = "memory"
EPHEMERAL_STORAGE = "ephemeral-storage"
_UNMODELLED = (EPHEMERAL_STORAGE,)
_HUGEPAGES = "hugepages-"


def is_native_scalar(name: str) -> bool:
    """A native resource beyond cpu and memory that NodeResourcesFit checks: ephemeral-storage,
    hugepages-<size> and names in the kubernetes.io domain (not `pods`)."""
    return name == EPHEMERAL_STORAGE or name.startswith(_HUGEPAGES) or "kubernetes.io/" in name


def is_extended(name: str) -> bool:
    """Kubernetes' IsExtendedResourceName: a qualified name outside the kubernetes.io domain."""
    return "/" in name and "kubernetes.io/" not in name and not name.startswith("requests.")


@dataclass(frozen=True)
class ContainerDemand:
    """What one container asks for once its requests default to its limits.

    `amounts` holds cpu in millicores, memory in bytes (rounded to MiB only for the pod, as
    Kubernetes sums bytes), every extended resource, GPU ones included, as a whole count, and
    the other native resources (ephemeral-storage, hugepages-*, kubernetes.io/...) as integers
    (bytes or counts, rounded up as Kubernetes' Quantity.Value does).
    `where` locates each extended resource for errors raised later about the pod as a whole.
    """

    path: str
    amounts: dict[str, int]
    where: dict[str, Location] = field(default_factory=dict)
    init: bool = False
    sidecar: bool = False


def read_container(container: Field, *, init: bool) -> ContainerDemand:
    """One entry of spec.containers or spec.initContainers."""
    policy = container["restartPolicy"]
    restart = policy.optional_string()
    if init and restart not in (None, "Always"):
        raise policy.error(f"unsupported value {restart!r}: supported values: Always")
    amounts, where = read_requirements(container["resources"])
    return ContainerDemand(
        path=container.where.field or "",
        amounts=amounts,
        where=where,
        init=init,
        sidecar=init and restart == "Always",
    )


def read_requirements(resources: Field) -> tuple[dict[str, int], dict[str, Location]]:
    """A container's `resources`: effective requests by name, and where each extended one is."""
    requests = dict(resources["requests"].items())
    limits = dict(resources["limits"].items())
    amounts: dict[str, int] = {}
    where: dict[str, Location] = {}
    names = [*limits, *(name for name in requests if name not in limits)]
    for name in names:
        request, limit = requests.get(name), limits.get(name)
        _check_name(name, (resources["limits"] if limit is not None else resources["requests"]))
        if is_extended(name):
            amounts[name], where[name] = _extended(name, request, limit, resources["limits"])
        elif name == CPU:
            amounts[CPU] = _bounded(CPU, request, limit, millicores)
        elif name == MEMORY:
            amounts[MEMORY] = _bounded(MEMORY, request, limit, to_bytes)
        else:
            # ephemeral-storage, hugepages-*, kubernetes.io/...: NodeResourcesFit checks them.
            amounts[name] = _bounded(name, request, limit, to_bytes)
    return amounts, where


def read_amounts(resources: Field) -> dict[str, int]:
    """A plain resource list (spec.overhead): cpu in millicores, memory in bytes, others counted."""
    amounts: dict[str, int] = {}
    for name, value in resources.items():
        _check_name(name, resources)
        if name == CPU:
            amounts[CPU] = millicores(value.value, value.where)
        elif name == MEMORY:
            amounts[MEMORY] = to_bytes(value.value, value.where)
        elif is_extended(name):
            amounts[name] = _count(name, value)
        else:
            amounts[name] = to_bytes(value.value, value.where)
    return amounts


def _check_name(name: str, resources: Field) -> None:
    if "/" in name or name in (CPU, MEMORY, *_UNMODELLED) or name.startswith(_HUGEPAGES):
        return
    raise resources[name].error(
        f"{name!r} is not a resource name: use a standard one (cpu, memory, ephemeral-storage, "
        "hugepages-<size>) or a qualified name such as nvidia.com/gpu"
    )


def _non_negative(value: Field) -> Fraction:
    amount = parse_quantity(value.value, value.where)
    if amount < 0:
        raise QuantityError(f"{value.value!r} must not be negative", where=value.where)
    return amount


def _count(name: str, value: Field) -> int:
    amount = _non_negative(value)
    if amount.denominator != 1:
        raise value.error(
            f"must be an integer, got {value.value!r}: Kubernetes counts extended resources "
            "in whole units",
            hint=_integer_hint(name),
        )
    limit = MAX_GPU_MEMORY_MIB if name == HAMI_GPUMEM else MAX_EXTENDED_COUNT
    if amount > limit:
        raise value.error(
            f"{str(value.value)[:40]} is more than gpuplane takes ({limit:,})",
            hint="see docs/limits.md",
        )
    return int(amount)


def _integer_hint(name: str) -> str:
    if name == GPU:
        return (
            "nvidia.com/gpu counts whole GPUs; for part of one ask for a MIG slice "
            "(nvidia.com/mig-1g.10gb), a shared replica (nvidia.com/gpu.shared), HAMi's "
            "nvidia.com/gpucores / nvidia.com/gpumem, or KAI's gpu-fraction annotation"
        )
    return "extended resources are counted in whole units and cannot be split"


def _extended(
    name: str, request: Field | None, limit: Field | None, limits: Field
) -> tuple[int, Location]:
    # The API server's rules for resources it cannot overcommit: whole numbers, a limit always,
    # and a request (if any) equal to it; the request then defaults to the limit.
    asked = _count(name, request) if request is not None else None
    if limit is None:
        # Named at the limit Kubernetes wants, placed at the line the user wrote the request on.
        line = request.where.line if request is not None else None
        missing = limits[name].where_at(line)
        raise missing.error(
            f"required value: limit must be set for non-overcommitable resources "
            f"({name} is only in requests)",
            hint=f"put {name} under limits; Kubernetes copies the limit into requests",
        )
    allowed = _count(name, limit)
    if request is not None and asked != allowed:
        raise request.error(
            f"must be equal to {name} limit of {limit.value}, got {request.value}",
            hint=f"{name} cannot be overcommitted: set it under limits only, or equal in both",
        )
    return allowed, limit.where


def _bounded(
    name: str,
    request: Field | None,
    limit: Field | None,
    convert: Callable[[object, Location | None], int],
) -> int:
    allowed = convert(limit.value, limit.where) if limit is not None else None
    if request is None:
        return allowed or 0
    asked = convert(request.value, request.where)
    if limit is not None and allowed is not None and asked > allowed:
        raise request.error(f"must be less than or equal to {name} limit of {limit.value}")
    return asked


def _add(total: dict[str, int], amounts: Mapping[str, int]) -> None:
    for name, amount in amounts.items():
        total[name] = total.get(name, 0) + amount


def _max(total: dict[str, int], amounts: Mapping[str, int]) -> None:
    for name, amount in amounts.items():
        total[name] = max(total.get(name, 0), amount)


def effective(
    containers: Sequence[ContainerDemand], overhead: Mapping[str, int] | None = None
) -> dict[str, int]:
    """kube-scheduler's pod requests: max(sum of app + sidecars, each init phase) + overhead.

    Init containers are taken in the order given, which must be the pod's order.
    """
    sidecars: dict[str, int] = {}
    init_peak: dict[str, int] = {}
    for demand in _inits(containers):
        if demand.sidecar:
            _add(sidecars, demand.amounts)
            _max(init_peak, sidecars)
        else:
            phase = dict(sidecars)
            _add(phase, demand.amounts)
            _max(init_peak, phase)
    total = dict(sidecars)
    for demand in containers:
        if not demand.init:
            _add(total, demand.amounts)
    _max(total, init_peak)
    _add(total, overhead or {})
    return total


def _inits(containers: Iterable[ContainerDemand]) -> list[ContainerDemand]:
    return [demand for demand in containers if demand.init]
