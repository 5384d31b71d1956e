"""Kubernetes quantities ("500m", "64Gi", "1.5e3") to exact integers in the brain's units, and back.

The grammar is Kubernetes' own (k8s.io/apimachinery resource.Quantity):

    quantity  ::= sign? number suffix
    number    ::= digits | digits "." digits? | "." digits
    suffix    ::= binarySI | decimalSI | ("e" | "E") sign? digits
    binarySI  ::= Ki | Mi | Gi | Ti | Pi | Ei
    decimalSI ::= n | u | m | "" | k | M | G | T | P | E

Values are parsed into a `Fraction` so nothing is lost, then converted at this edge into the
integers the brain uses (millicores, MiB, milli-GPU, bytes). Like Kubernetes, conversions that
cannot be exact round *up* (a request of 0.1m CPU is 1m), except node capacity, which rounds
down so that the brain never believes a node holds more than it does.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

from gpuplane.errors import Location, QuantityError

_BINARY = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}

_QUANTITY = re.compile(
    r"""^(?P<sign>[+-])?
        (?P<number>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)
        (?:(?P<binary>Ki|Mi|Gi|Ti|Pi|Ei)
          |[eE](?P<exp>[+-]?[0-9]+)
          |(?P<decimal>[numkMGTPE]?))$""",
    re.VERBOSE,
)

# Kubernetes reads any int32 exponent (rounding tiny values up to 1n); this cap stops
# "1e999999999" from eating memory, and no real resource needs more than 10**±30.
_MAX_EXPONENT = 30

MIB = 1024 * 1024


def parse_quantity(value: object, where: Location | None = None) -> Fraction:
    """Parse a quantity as YAML gives it (string, int or float) into an exact Fraction."""
    if isinstance(value, bool) or value is None:
        raise QuantityError(f"{value!r} is not a quantity", where=where, hint=_HINT)
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise QuantityError(f"{value!r} is not a quantity", where=where, hint=_HINT)
        # repr gives the shortest decimal that round-trips, which is what the user typed.
        text = repr(value)
    elif isinstance(value, str):
        text = value.strip()
    else:
        raise QuantityError(f"{value!r} is not a quantity", where=where, hint=_HINT)
    match = _QUANTITY.match(text)
    if match is None:
        raise QuantityError(f"{text!r} is not a quantity", where=where, hint=_HINT)
    try:
        number = Fraction(match["number"])
        exp = int(match["exp"]) if match["exp"] is not None else None
    except ValueError:  # more digits than int() converts (sys.get_int_max_str_digits)
        raise QuantityError(f"{text[:40]!r}...: too many digits", where=where, hint=_HINT) from None
    if match["binary"]:
        number *= 1024 ** _BINARY[match["binary"]]
    else:
        exponent = exp if exp is not None else _DECIMAL[match["decimal"]]
        if abs(exponent) > _MAX_EXPONENT:
            raise QuantityError(f"{text!r}: exponent out of range", where=where, hint=_HINT)
        number *= Fraction(10) ** exponent
    return -number if match["sign"] == "-" else number


_HINT = "write a number with an optional suffix, e.g. 500m, 2, 1.5, 64Gi, 1e3"


def _non_negative(value: object, where: Location | None) -> Fraction:
    amount = parse_quantity(value, where)
    if amount < 0:
        raise QuantityError(f"{value!r} must not be negative", where=where)
    return amount


def _ceil(amount: Fraction) -> int:
    return -((-amount.numerator) // amount.denominator)


def millicores(value: object, where: Location | None = None, *, round_up: bool = True) -> int:
    """CPU quantity to millicores ("0.5" -> 500); capacities pass round_up=False to round down."""
    amount = _non_negative(value, where) * 1000
    return _ceil(amount) if round_up else math.floor(amount)


def to_bytes(value: object, where: Location | None = None) -> int:
    """Memory quantity to bytes, rounded up."""
    return _ceil(_non_negative(value, where))


def mebibytes(value: object, where: Location | None = None, *, round_up: bool = True) -> int:
    """Memory quantity to MiB; requests round up, capacities pass round_up=False."""
    amount = _non_negative(value, where) / MIB
    return _ceil(amount) if round_up else math.floor(amount)


def whole(value: object, where: Location | None = None, *, resource: str = "") -> int:
    """A count that must be a non-negative whole number (extended resources, pods)."""
    amount = _non_negative(value, where)
    if amount.denominator != 1:
        name = f"{resource} " if resource else ""
        raise QuantityError(
            f"{name}must be a whole number, got {value!r}",
            where=where,
            hint="extended resources cannot be overcommitted or split; ask for whole units",
        )
    return int(amount)


def format_quantity(amount: Fraction | int, *, binary: bool = False) -> str:
    """Shortest exact quantity string: binary suffixes (Ki..Ei) or decimal ones (n..E).

    Only values that Kubernetes can represent exactly (multiples of 1n) are accepted.
    """
    amount = Fraction(amount)
    sign = "-" if amount < 0 else ""
    amount = abs(amount)
    if amount == 0:
        return "0"
    if binary and amount.denominator == 1:
        for suffix, power in sorted(_BINARY.items(), key=lambda item: -item[1]):
            unit = 1024**power
            if amount % unit == 0:
                return f"{sign}{amount // unit}{suffix}"
    for suffix, exponent in sorted(_DECIMAL.items(), key=lambda item: -item[1]):
        scaled = amount / Fraction(10) ** exponent
        if scaled.denominator == 1:
            return f"{sign}{scaled.numerator}{suffix}"
    raise ValueError(f"{amount} is finer than 1n and has no exact quantity form")


def format_cpu(millicores_: int) -> str:
    """Millicores as Kubernetes writes CPU: "500m", "2"."""
    return format_quantity(Fraction(millicores_, 1000))


def format_memory(mib: int) -> str:
    """MiB as Kubernetes writes memory: "512Mi", "64Gi"."""
    return format_quantity(mib * MIB, binary=True)
