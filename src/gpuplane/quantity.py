"""Kubernetes quantities ("500m", "64Gi", "1.5e3") to exact integers in the brain's units, and back.

The grammar and rules are Kubernetes' own (k8s.io/apimachinery resource.ParseQuantity):

    quantity  ::= sign? number suffix
    number    ::= digits | digits "." digits? | "." digits? | ""
    suffix    ::= binarySI | decimalSI | ("e" | "E") sign? digits
    binarySI  ::= Ki | Mi | Gi | Ti | Pi | Ei
    decimalSI ::= n | u | m | "" | k | M | G | T | P | E

An empty number is zero ("m", ".", "+" all parse as 0, as they do for the API server). Every
value is rounded up in magnitude to a whole nano (0.1n is 1n: asking for some gets some), and
a value written with a binary suffix is capped at 2^63-1 in magnitude. Each quantity remembers
its format (DecimalSI, BinarySI or DecimalExponent), which decides how it is written back.

Values are exact `Fraction`s, converted at this edge into the integers the brain uses
(millicores, MiB, milli-GPU, bytes). Conversions that cannot be exact round *up*, except node
capacity, which rounds down so that the brain never believes a node holds more than it does.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from typing import Literal

from gpuplane.errors import Location, QuantityError
from gpuplane.limits import MAX_BYTES, MAX_CPU_MILLICORES

QuantityFormat = Literal["DecimalSI", "BinarySI", "DecimalExponent"]

_BINARY = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_SUFFIX_OF = {exponent: suffix for suffix, exponent in _DECIMAL.items()}

_QUANTITY = re.compile(
    r"(?P<sign>[+-]?)(?P<int>[0-9]*)(?:\.(?P<frac>[0-9]*))?(?P<suffix>[eEinumkKMGTP]*[+-]?[0-9]*)"
)
_EXPONENT = re.compile(r"[+-]?[0-9]+")

#: The largest magnitude a quantity with a binary suffix keeps (apimachinery's maxAllowed).
MAX_BINARY = 2**63 - 1
NANO = Fraction(1, 10**9)
_INT64 = 2**63
_INT32 = 2**31
# Kubernetes takes any int32 exponent; beyond 10**1000 gpuplane refuses rather than build
# integers of millions of digits for a resource no machine holds.
_MAX_EXPONENT = 1000
# The API server decodes manifests as JSON and trims white space around a quantity
# (Quantity.UnmarshalJSON); tabs, newlines and U+2028/9 reach it escaped, so they are not
# trimmed and fail the grammar, while spaces and the other Unicode spaces are.
_UNICODE_SPACES = "".join(map(chr, range(0x2000, 0x200B)))  # en quad .. hair space
_JSON_TRIMMED = " \u0085\u00a0\u1680" + _UNICODE_SPACES + "\u202f\u205f\u3000"

MIB = 1024 * 1024


def parse_quantity(value: object, where: Location | None = None) -> Fraction:
    """Parse a quantity as YAML gives it (string, int or float) into an exact Fraction."""
    return parse_with_format(value, where)[0]


#: Quantities already parsed: manifests repeat the same few ("8", "64Gi") thousands of times,
#: and exact parsing with Fractions is the slowest part of reading a large file. Bounded.
_PARSED: dict[tuple[type, object], tuple[Fraction, QuantityFormat]] = {}
_PARSED_MAX = 4096


def parse_with_format(
    value: object, where: Location | None = None
) -> tuple[Fraction, QuantityFormat]:
    """The quantity's value and the format Kubernetes keeps for it (and writes it back in)."""
    kind = type(value)
    if kind is int or (kind is str and len(value) <= 64):  # type: ignore[arg-type]
        key = (kind, value)
        parsed = _PARSED.get(key)
        if parsed is None:
            parsed = _parse(value, where)  # an error raises and is not remembered
            if len(_PARSED) >= _PARSED_MAX:
                _PARSED.clear()
            _PARSED[key] = parsed
        return parsed
    return _parse(value, where)


def _parse(value: object, where: Location | None) -> tuple[Fraction, QuantityFormat]:
    if isinstance(value, bool) or value is None:
        raise QuantityError(f"{value!r} is not a quantity", where=where, hint=_HINT)
    if isinstance(value, int):
        return Fraction(value), "DecimalSI"
    if isinstance(value, float):
        if not math.isfinite(value):
            raise QuantityError(f"{value!r} is not a quantity", where=where, hint=_HINT)
        # repr gives the shortest decimal that round-trips, which is what the user typed.
        text = repr(value)
    elif isinstance(value, str):
        text = value.strip(_JSON_TRIMMED)
    else:
        raise QuantityError(f"{value!r} is not a quantity", where=where, hint=_HINT)
    match = _QUANTITY.fullmatch(text)
    if not text or match is None:
        raise QuantityError(f"{text[:40]!r} is not a quantity", where=where, hint=_HINT)
    suffix = match["suffix"]
    fmt: QuantityFormat
    if suffix in _DECIMAL:
        fmt, exponent, binary = "DecimalSI", _DECIMAL[suffix], 0
    elif suffix in _BINARY:
        fmt, exponent, binary = "BinarySI", 0, _BINARY[suffix]
    elif len(suffix) > 1 and suffix[0] in "eE" and _EXPONENT.fullmatch(suffix[1:]):
        fmt, exponent, binary = "DecimalExponent", _int32(suffix[1:], text, where), 0
    else:
        raise QuantityError(f"{text[:40]!r} is not a quantity", where=where, hint=_HINT)
    frac = (match["frac"] or "").rstrip("0")
    digits = (match["int"] + frac).lstrip("0")
    if len(digits) > 4000:  # Python's int() refuses more than 4300 digits
        raise QuantityError(f"{text[:40]!r}...: too many digits", where=where, hint=_HINT)
    mantissa = int(digits or "0")
    scale = exponent - len(frac)
    if mantissa and scale > _MAX_EXPONENT:
        raise QuantityError(f"{text[:40]!r}: exponent out of range", where=where, hint=_HINT)
    if mantissa and scale + len(digits) < -30:
        # Far below 1n even times 1Ei: 1n, without building 10**-scale.
        amount = NANO
    else:
        amount = round_up(mantissa * Fraction(10) ** scale * 1024**binary, -9)[0]
    if fmt == "BinarySI":
        amount = min(amount, Fraction(MAX_BINARY))
        if 0 < amount < 1:
            fmt = "DecimalSI"  # a binary suffix cannot write a fraction
    return (-amount if match["sign"] == "-" else amount), fmt


def _int32(text: str, whole: str, where: Location | None) -> int:
    """An exponent as Kubernetes reads it: an int64, kept to its low 32 bits."""
    digits = text.lstrip("+-").lstrip("0")
    exponent = int(digits[:20] or "0") * (-1 if text[0] == "-" else 1)
    if len(digits) > 19 or not -_INT64 <= exponent < _INT64:
        raise QuantityError(f"{whole[:40]!r}: exponent out of range", where=where, hint=_HINT)
    return (exponent + _INT32) % (2 * _INT32) - _INT32


_HINT = "write a number with an optional suffix, e.g. 500m, 2, 1.5, 64Gi, 1e3"


def round_up(amount: Fraction, scale: int) -> tuple[Fraction, bool]:
    """Round away from zero to a multiple of 10**scale; True when nothing was lost."""
    unit = Fraction(10) ** scale
    units = _ceil(abs(amount) / unit)
    rounded = units * unit if amount >= 0 else -units * unit
    return rounded, rounded == amount


def _non_negative(value: object, where: Location | None) -> Fraction:
    amount = parse_quantity(value, where)
    if amount < 0:
        raise QuantityError(f"{value!r} must not be negative", where=where)
    return amount


def _ceil(amount: Fraction) -> int:
    return -((-amount.numerator) // amount.denominator)


def millicores(value: object, where: Location | None = None, *, round_up: bool = True) -> int:
    """CPU quantity to millicores ("0.5" -> 500); capacities pass round_up=False to round down."""
    amount = _bounded(value, where, MAX_CPU_MILLICORES // 1000, "cores") * 1000
    return _ceil(amount) if round_up else math.floor(amount)


def to_bytes(value: object, where: Location | None = None) -> int:
    """Memory quantity to bytes, rounded up."""
    return _ceil(_bounded(value, where, MAX_BYTES, "bytes (1Pi)"))


def mebibytes(value: object, where: Location | None = None, *, round_up: bool = True) -> int:
    """Memory quantity to MiB; requests round up, capacities pass round_up=False."""
    amount = _bounded(value, where, MAX_BYTES, "bytes (1Pi)") / MIB
    return _ceil(amount) if round_up else math.floor(amount)


def _bounded(value: object, where: Location | None, limit: int, unit: str) -> Fraction:
    """A non-negative quantity of at most `limit` (gpuplane.limits)."""
    amount = _non_negative(value, where)
    if amount > limit:
        raise QuantityError(
            f"{_shown(value)} is more than gpuplane takes ({limit:,} {unit})",
            where=where,
            hint="see docs/limits.md",
        )
    return amount


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:37]}..."


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


def format_quantity(amount: Fraction | int, style: QuantityFormat = "DecimalSI") -> str:
    """The canonical string Kubernetes writes for `amount` in `style` (Quantity.String()).

    No fractional digits, and the largest suffix (or exponent, a multiple of 3) that keeps
    the value exact. BinarySI falls back to DecimalSI below 1024 in magnitude and for values
    that are not whole. Only multiples of 1n, which every parsed quantity is, are accepted.
    """
    amount = Fraction(amount)
    if amount == 0:
        return "0"
    sign = "-" if amount < 0 else ""
    if style == "BinarySI" and abs(amount) >= 1024 and amount.denominator == 1:
        units, power = abs(int(amount)), 0
        while units % 1024 == 0 and power < max(_BINARY.values()):
            units, power = units // 1024, power + 1
        binary = {power: suffix for suffix, power in _BINARY.items()}.get(power, "")
        return f"{sign}{units}{binary}"
    nanos = abs(amount) * 10**9
    if nanos.denominator != 1:
        raise ValueError(f"{amount} is finer than 1n and has no exact quantity form")
    mantissa, exponent = int(nanos), -9
    while mantissa % 10 == 0:
        mantissa, exponent = mantissa // 10, exponent + 1
    shift = exponent % 3
    mantissa, exponent = mantissa * 10**shift, exponent - shift
    if style == "DecimalExponent":
        return f"{sign}{mantissa}" + (f"e{exponent}" if exponent else "")
    if exponent > 18:  # past E, the largest decimal suffix
        mantissa, exponent = mantissa * 10 ** (exponent - 18), 18
    return f"{sign}{mantissa}{_SUFFIX_OF[exponent]}"


def format_cpu(millicores_: int) -> str:
    """Millicores as Kubernetes writes CPU: "500m", "2"."""
    return format_quantity(Fraction(millicores_, 1000))


def format_memory(mib: int) -> str:
    """MiB as Kubernetes writes memory: "512Mi", "64Gi"."""
    return format_quantity(mib * MIB, "BinarySI")
