"""Quota amounts (Kueue quotas, Volcano capabilities) into the brain's units, one rule for all.

`cpu` becomes millicores, `memory` and `ephemeral-storage` MiB, `nvidia.com/gpu` milli-GPU
(a quota may hold part of a GPU even though a pod asks for whole ones, because fractional
sharing charges fractions against it), and every other resource a whole count.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

from gpuplane.catalog.resources import GPU
from gpuplane.errors import QuantityError
from gpuplane.objects.gpu_request import WHOLE_GPU_MILLI
from gpuplane.objects.yamlio import Field
from gpuplane.quantity import mebibytes, millicores, parse_quantity, whole

CPU = "cpu"
#: Resources counted in MiB, like memory.
MIB_RESOURCES = ("memory", "ephemeral-storage")

# IsQualifiedName: an optional DNS-subdomain prefix and a slash, then a name of at most 63
# characters that starts and ends alphanumeric.
_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
_PREFIX = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def quota_amount(resource: str, value: Field, *, round_up: bool = False) -> int:
    """One quota amount of `resource` in brain units; caps round down unless `round_up`.

    Negative amounts raise QuantityError at the value's location. Demands (a PodGroup's
    minResources) pass `round_up=True`, as requests do.
    """
    if resource == CPU:
        return millicores(value.value, value.where, round_up=round_up)
    if resource in MIB_RESOURCES:
        return mebibytes(value.value, value.where, round_up=round_up)
    if resource == GPU:
        milli = _non_negative(value) * WHOLE_GPU_MILLI
        return -((-milli.numerator) // milli.denominator) if round_up else math.floor(milli)
    return whole(value.value, value.where, resource=resource)


def exact_amount(value: Field) -> Fraction:
    """A non-negative quantity, exactly (for comparing two amounts as Kubernetes does)."""
    return _non_negative(value)


def quota_list(resources: Field, *, round_up: bool = False) -> dict[str, int]:
    """A ResourceList (`{cpu: 8, nvidia.com/gpu: 2}`) in brain units, keyed by resource name."""
    amounts: dict[str, int] = {}
    for name, value in resources.items():
        check_resource_name(name, resources[name])
        amounts[name] = quota_amount(name, value, round_up=round_up)
    return amounts


def check_resource_name(name: str, where: Field) -> None:
    """Refuse what is not a qualified resource name (`cpu`, `nvidia.com/gpu`), as Kueue does."""
    prefix, _, base = name.rpartition("/")
    if _NAME.match(base) and (not prefix or (len(prefix) <= 253 and _PREFIX.match(prefix))):
        return
    raise where.error(
        f"{name!r} is not a valid resource name",
        hint="use a name such as cpu, memory, pods or a qualified one such as nvidia.com/gpu",
    )


def _non_negative(value: Field) -> Fraction:
    amount = parse_quantity(value.value, value.where)
    if amount < 0:
        raise QuantityError(f"{value.value!r} must not be negative", where=value.where)
    return amount
