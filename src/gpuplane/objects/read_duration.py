"""Durations as users write them: Go's duration grammar ("2h30m", "1.5h", "90s") or seconds.

Go's `time.ParseDuration` grammar, which Kubernetes users know from every controller flag:

    duration ::= "0" | (number unit)+
    number   ::= digits | digits "." digits? | "." digits
    unit     ::= "ns" | "us" | "µs" | "μs" | "ms" | "s" | "m" | "h"

A plain number (a YAML number, or a string such as "90" or "2.5") is a count of seconds.
Durations here are how long something takes, so a sign is refused.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

from gpuplane.objects.yamlio import Field, describe

_UNITS = {
    "ns": Fraction(1, 10**9),
    "us": Fraction(1, 10**6),
    "µs": Fraction(1, 10**6),  # U+00B5 MICRO SIGN
    "μs": Fraction(1, 10**6),  # U+03BC GREEK SMALL LETTER MU
    "ms": Fraction(1, 1000),
    "s": Fraction(1),
    "m": Fraction(60),
    "h": Fraction(3600),
}
_NUMBER = r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
# Longer units first so that "ms" is not read as "m" followed by a stray "s".
_TERM = re.compile(rf"({_NUMBER})(ns|us|µs|μs|ms|s|m|h)")
_GO = re.compile(rf"(?:{_NUMBER}(?:ns|us|µs|μs|ms|s|m|h))+")
_SECONDS = re.compile(_NUMBER)

#: Go's durations are int64 nanoseconds: about 292 years.
_MAX_SECONDS = Fraction(2**63 - 1, 10**9)
_HINT = 'write a Go duration such as "2h30m", "1.5h", "90s" or "45m", or a number of seconds'


def read_duration(field: Field) -> float:
    """A duration in seconds from a Go duration string or a number of seconds; required."""
    value = field.value
    if value is None:
        raise field.error("required value", hint=_HINT)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise field.error(f"must be a duration, got {describe(value)}", hint=_HINT)
    if isinstance(value, int | float):
        if not math.isfinite(value) or value < 0:
            raise field.error(f"must be a duration of zero or more, got {value!r}", hint=_HINT)
        return float(value)
    text = value.strip()
    if _SECONDS.fullmatch(text):
        return _bounded(Fraction(text), field)
    if text.startswith(("-", "+")):
        raise field.error(f"must be a duration of zero or more, got {value!r}", hint=_HINT)
    if not _GO.fullmatch(text):
        raise field.error(f"not a duration: {value!r}", hint=_HINT)
    seconds = sum(
        (Fraction(number) * _UNITS[unit] for number, unit in _TERM.findall(text)), Fraction(0)
    )
    return _bounded(seconds, field)


def _bounded(seconds: Fraction, field: Field) -> float:
    if seconds > _MAX_SECONDS:
        raise field.error(f"{str(field.value)[:40]} is longer than a Go duration (292 years)")
    return float(seconds)
