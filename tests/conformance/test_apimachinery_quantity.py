"""Conformance: Kubernetes quantities, against apimachinery's own test tables.

Source: github.com/kubernetes/apimachinery (the published copy of kubernetes/kubernetes
staging/src/k8s.io/apimachinery), file pkg/api/resource/quantity_test.go at commit
eed236ceee2c19c2753a3d93ac0631dc20750454. Each table below names the upstream test it
comes from; each case's pytest id is its upstream input. Upstream's Go tables have no case
names, so the input (or the constructor expression, for tables built from values) is the name.
"""

from __future__ import annotations

import json
from fractions import Fraction

import pytest

from gpuplane.errors import QuantityError
from gpuplane.quantity import (
    MAX_BINARY,
    QuantityFormat,
    format_quantity,
    millicores,
    parse_quantity,
    parse_with_format,
    round_up,
    to_bytes,
)

SI: QuantityFormat = "DecimalSI"
BIN: QuantityFormat = "BinarySI"
EXP: QuantityFormat = "DecimalExponent"
MAX = Fraction(MAX_BINARY)
NANO, MICRO, MILLI = -9, -6, -3
MOST_POSITIVE, MOST_NEGATIVE = 2**63 - 1, -(2**63)


def dec(mantissa: int, exponent: int) -> Fraction:
    """Upstream's decQuantity/intQuantity value: mantissa * 10**exponent."""
    return mantissa * Fraction(10) ** exponent


def canonical(value: object) -> str:
    """What Quantity.String() gives for a parsed value: the format it was written in."""
    return format_quantity(*parse_with_format(value))


# --- TestQuantityParse: value and remembered format ----------------------------------------

PARSE: list[tuple[str, Fraction, QuantityFormat]] = [
    # zero with every kind of suffix
    ("0", dec(0, 0), SI),
    ("0n", dec(0, 0), SI),
    ("0u", dec(0, 0), SI),
    ("0m", dec(0, 0), SI),
    ("0Ki", dec(0, 0), BIN),
    ("0k", dec(0, 0), SI),
    ("0Mi", dec(0, 0), BIN),
    ("0M", dec(0, 0), SI),
    ("0Gi", dec(0, 0), BIN),
    ("0G", dec(0, 0), SI),
    ("0Ti", dec(0, 0), BIN),
    ("0T", dec(0, 0), SI),
    ("1", dec(1, 0), SI),
    # binary suffixes
    ("1Ki", dec(1024, 0), BIN),
    ("8Ki", dec(8 * 1024, 0), BIN),
    ("7Mi", dec(7 * 1024**2, 0), BIN),
    ("6Gi", dec(6 * 1024**3, 0), BIN),
    ("5Ti", dec(5 * 1024**4, 0), BIN),
    ("4Pi", dec(4 * 1024**5, 0), BIN),
    ("3Ei", dec(3 * 1024**6, 0), BIN),
    ("10Ti", dec(10 * 1024**4, 0), BIN),
    ("100Ti", dec(100 * 1024**4, 0), BIN),
    # decimal suffixes
    ("5n", dec(5, -9), SI),
    ("4u", dec(4, -6), SI),
    ("3m", dec(3, -3), SI),
    ("9", dec(9, 0), SI),
    ("8k", dec(8, 3), SI),
    ("50k", dec(5, 4), SI),
    ("7M", dec(7, 6), SI),
    ("6G", dec(6, 9), SI),
    ("5T", dec(5, 12), SI),
    ("40T", dec(4, 13), SI),
    ("300T", dec(3, 14), SI),
    ("2P", dec(2, 15), SI),
    ("1E", dec(1, 18), SI),
    # exponents
    ("1E-3", dec(1, -3), EXP),
    ("1e3", dec(1, 3), EXP),
    ("1E6", dec(1, 6), EXP),
    ("1e9", dec(1, 9), EXP),
    ("1E12", dec(1, 12), EXP),
    ("1e15", dec(1, 15), EXP),
    ("1E18", dec(1, 18), EXP),
    ("1e14", dec(1, 14), EXP),
    ("1e13", dec(1, 13), EXP),
    ("100.035k", dec(100035, 0), SI),
    # decimal fractions
    ("0.001", dec(1, -3), SI),
    ("0.0005k", dec(5, -1), SI),
    ("0.005", dec(5, -3), SI),
    ("0.05", dec(5, -2), SI),
    ("0.5", dec(5, -1), SI),
    ("0.00050k", dec(5, -1), SI),
    ("0.00500", dec(5, -3), SI),
    ("0.05000", dec(5, -2), SI),
    ("0.50000", dec(5, -1), SI),
    ("0.5e0", dec(5, -1), EXP),
    ("0.5e-1", dec(5, -2), EXP),
    ("0.5e-2", dec(5, -3), EXP),
    ("10.035M", dec(10035, 3), SI),
    ("1.2e3", dec(12, 2), EXP),
    ("1.3E+6", dec(13, 5), EXP),
    ("1.40e9", dec(14, 8), EXP),
    ("1.53E12", dec(153, 10), EXP),
    ("1.6e15", dec(16, 14), EXP),
    ("1.7E18", dec(17, 17), EXP),
    ("9.01", dec(901, -2), SI),
    ("8.1k", dec(81, 2), SI),
    ("7.123456M", dec(7123456, 0), SI),
    ("6.987654321G", dec(6987654321, 0), SI),
    ("5.444T", dec(5444, 9), SI),
    ("40.1T", dec(401, 11), SI),
    ("300.2T", dec(3002, 11), SI),
    ("2.5P", dec(25, 14), SI),
    ("1.01E", dec(101, 16), SI),
    # rounded up to whole nanos; binary suffixes capped at 2^63-1
    ("3.001n", dec(4, -9), SI),
    ("1.1E-9", dec(2, -9), EXP),
    ("0.0000000001", dec(1, -9), SI),
    ("0.0000000005", dec(1, -9), SI),
    ("0.00000000050", dec(1, -9), SI),
    ("0.5e-9", dec(1, -9), EXP),
    ("0.9n", dec(1, -9), SI),
    ("0.00000012345", dec(124, -9), SI),
    ("0.00000012354", dec(124, -9), SI),
    ("9Ei", MAX, BIN),
    ("9223372036854775807Ki", MAX, BIN),
    ("12E", dec(12, 18), SI),
    # fractions with binary suffixes
    ("100.035Ki", dec(10243584, -2), BIN),
    ("0.5Mi", dec(524288, 0), BIN),
    ("0.05Gi", dec(536870912, -1), BIN),
    ("0.025Ti", dec(274877906944, -1), BIN),
    # odd but valid spellings
    ("0.000000000001Ki", dec(2, -9), SI),  # below 1: DecimalSI
    (".001", dec(1, -3), SI),
    (".0001k", dec(100, -3), SI),
    ("1.", dec(1, 0), SI),
    ("1.G", dec(1, 9), SI),
]


@pytest.mark.parametrize(("text", "value", "fmt"), PARSE, ids=[case[0] for case in PARSE])
def test_quantity_parse(text: str, value: Fraction, fmt: QuantityFormat) -> None:
    # Upstream checks each input as written, with a leading "-" and with a leading "+".
    assert parse_with_format(text) == (value, fmt)
    assert parse_with_format("-" + text) == (-value, fmt)
    assert parse_with_format("+" + text) == (value, fmt)


# --- TestQuantityParse: the invalid list -----------------------------------------------------

INVALID = ["1.1.M", "1+1.0M", "0.1mi", "0.1am", "aoeu", ".5i", "1i", "-3.01i", "-3.01e-"]


@pytest.mark.parametrize("text", INVALID)
def test_quantity_parse_invalid(text: str) -> None:
    with pytest.raises(QuantityError):
        parse_quantity(text)


# Intentional divergence: ParseQuantity refuses spaces around the number, but the API server
# reads manifests through Quantity.UnmarshalJSON, which trims them (TestJSONWhitespace), and
# gpuplane reads manifests. Tabs and newlines are still refused (see test_quantity.py).
@pytest.mark.parametrize("text", [" 1", "1 "])
def test_quantity_parse_spaces_trimmed_as_manifests_are(text: str) -> None:
    assert parse_with_format(text) == (1, SI)


def test_quantity_parse_empty() -> None:
    with pytest.raises(QuantityError):
        parse_quantity("")


# --- TestParseQuantityString: the scanner's split into sign, number and suffix ---------------

SPLIT: list[tuple[str, bool, str, str, str, Fraction, QuantityFormat]] = [
    # input, positive, num, denom, suffix; then the value and format those make
    ("0.025Ti", True, "0", "025", "Ti", dec(274877906944, -1), BIN),
    ("1.025Ti", True, "1", "025", "Ti", dec(11269994184704, -1), BIN),
    ("-1.025Ti", False, "1", "025", "Ti", -dec(11269994184704, -1), BIN),
    (".", True, "0", "", "", Fraction(0), SI),
    ("-.", False, "0", "", "", Fraction(0), SI),
    ("1E-3", True, "1", "", "E-3", dec(1, -3), EXP),
]


@pytest.mark.parametrize("case", SPLIT, ids=[case[0] for case in SPLIT])
def test_parse_quantity_string(case: tuple[str, bool, str, str, str, Fraction, str]) -> None:
    text, positive, num, denom, suffix, value, fmt = case
    assert parse_with_format(text) == (value, fmt)
    # The parts upstream splits out make the same quantity when written back together.
    rebuilt = ("" if positive else "-") + num + ("." + denom if denom else "") + suffix
    assert parse_with_format(rebuilt) == (value, fmt)


def test_quantity_parse_zero() -> None:  # TestQuantityParseZero
    assert canonical("0") == "0"


# --- TestQuantityCmp and TestQuantityCmpInt64AndDec -----------------------------------------

CMP = [("0", "0", 0), ("100m", "50m", 1), ("50m", "100m", -1), ("10000T", "100Gi", 1)]


def _cmp(a: Fraction, b: Fraction) -> int:
    return (a > b) - (a < b)


@pytest.mark.parametrize(("x", "y", "expect"), CMP, ids=[f"{x}-vs-{y}" for x, y, _ in CMP])
def test_quantity_cmp(x: str, y: str, expect: int) -> None:
    assert _cmp(parse_quantity(x), parse_quantity(y)) == expect


# intQuantity(value, scale), the value value * 10**scale.
CMP_INT64_AND_DEC = [
    ((901, -2), (901, -2), 0),
    ((90, -1), (901, -2), -1),
    ((901, -2), (900, -2), 1),
    ((0, 0), (0, 0), 0),
    ((0, 1), (0, -1), 0),
    ((0, -1), (0, 1), 0),
    ((800, -3), (1, 0), -1),
    ((800, -3), (79, -2), 1),
    ((MOST_POSITIVE, 0), (1, -1), 1),
    ((MOST_POSITIVE, 1), (1, 0), 1),
    ((MOST_POSITIVE, 1), (1, 1), 1),
    ((MOST_POSITIVE, 1), (0, 1), 1),
    ((MOST_POSITIVE, -16), (1, 3), -1),
    ((MOST_NEGATIVE, 0), (0, 0), -1),
    ((MOST_NEGATIVE, -18), (-1, 0), -1),
    ((MOST_NEGATIVE, -19), (-1, 0), 1),
    ((10**18, -17), (1, 1), 0),
    ((10**18, -17), (-10, 0), 1),
    ((-(10**18), -17), (-10, 0), 0),
    ((10**18, -17), (1, 0), 1),
    ((10**18 + 1, -17), (1, 1), 1),
    ((10**18 - 1, -17), (1, 1), -1),
]


@pytest.mark.parametrize(
    ("a", "b", "expect"),
    CMP_INT64_AND_DEC,
    ids=[f"intQuantity({a[0]},{a[1]})-vs-({b[0]},{b[1]})" for a, b, _ in CMP_INT64_AND_DEC],
)
def test_quantity_cmp_int64_and_dec(a: tuple[int, int], b: tuple[int, int], expect: int) -> None:
    # Upstream builds these values directly, some finer than 1n; the brain holds them as exact
    # Fractions. Written as quantities, they parse to the same value rounded up to 1n.
    qa, qb = dec(*a), dec(*b)
    assert _cmp(qa, qb) == expect
    assert _cmp(qb, qa) == -expect
    for (value, scale), exact in ((a, qa), (b, qb)):
        assert parse_quantity(f"{value}e{scale}") == round_up(exact, NANO)[0]


# --- TestQuantityRoundUp ---------------------------------------------------------------------

ROUND_UP = [
    ("9.01", -3, dec(901, -2), True),
    ("9.01", -2, dec(901, -2), True),
    ("9.01", -1, dec(91, -1), False),
    ("9.01", 0, dec(10, 0), False),
    ("9.01", 1, dec(10, 0), False),
    ("9.01", 2, dec(100, 0), False),
    ("-9.01", -3, dec(-901, -2), True),
    ("-9.01", -2, dec(-901, -2), True),
    ("-9.01", -1, dec(-91, -1), False),
    ("-9.01", 0, dec(-10, 0), False),
    ("-9.01", 1, dec(-10, 0), False),
    ("-9.01", 2, dec(-100, 0), False),
]


@pytest.mark.parametrize(
    ("text", "scale", "expect", "exact"), ROUND_UP, ids=[f"{c[0]}@{c[1]}" for c in ROUND_UP]
)
def test_quantity_round_up(text: str, scale: int, expect: Fraction, exact: bool) -> None:
    assert round_up(parse_quantity(text), scale) == (expect, exact)


# --- TestQuantityString: canonical forms -----------------------------------------------------

STRING: list[tuple[Fraction, QuantityFormat, str, str]] = [
    # value, format, canonical, an alternate spelling that must canonicalize to it
    (dec(1024**3, 0), BIN, "1Gi", "1024Mi"),
    (dec(300 * 1024**2, 0), BIN, "300Mi", "307200Ki"),
    (dec(6 * 1024, 0), BIN, "6Ki", ""),
    (dec(1001 * 1024**3, 0), BIN, "1001Gi", "1025024Mi"),
    (dec(1024**4, 0), BIN, "1Ti", "1024Gi"),
    (dec(5, 0), BIN, "5", "5000m"),
    (dec(500, -3), BIN, "500m", "0.5"),
    (dec(1, 9), SI, "1G", "1000M"),
    (dec(1000, 6), SI, "1G", "0.001T"),
    (dec(1000000, 3), SI, "1G", ""),
    (dec(1000000000, 0), SI, "1G", ""),
    (dec(1, -3), SI, "1m", "1000u"),
    (dec(80, -3), SI, "80m", ""),
    (dec(1080, -3), SI, "1080m", "1.08"),
    (dec(108, -2), SI, "1080m", "1080000000n"),
    (dec(10800, -4), SI, "1080m", ""),
    (dec(300, 6), SI, "300M", ""),
    (dec(1, 12), SI, "1T", ""),
    (dec(1234567, 6), SI, "1234567M", ""),
    (dec(1234567, -3), BIN, "1234567m", ""),
    (dec(3, 3), SI, "3k", ""),
    (dec(1025, 0), BIN, "1025", ""),
    (dec(0, 0), SI, "0", ""),
    (dec(0, 0), BIN, "0", ""),
    (dec(1, 9), EXP, "1e9", ".001e12"),
    (dec(1, -3), EXP, "1e-3", "0.001e0"),
    (dec(1, -9), EXP, "1e-9", "1000e-12"),
    (dec(80, -3), EXP, "80e-3", ""),
    (dec(300, 6), EXP, "300e6", ""),
    (dec(1, 12), EXP, "1e12", ""),
    (dec(1, 3), EXP, "1e3", ""),
    (dec(3, 3), EXP, "3e3", ""),
    (dec(0, 0), EXP, "0", "00"),
    (dec(1, -9), SI, "1n", ""),
    (dec(80, -9), SI, "80n", ""),
    (dec(1080, -9), SI, "1080n", ""),
    (dec(108, -8), SI, "1080n", ""),
    (dec(10800, -10), SI, "1080n", ""),
    (dec(1, -6), SI, "1u", ""),
    (dec(80, -6), SI, "80u", ""),
    (dec(1080, -6), SI, "1080u", ""),
]
# Upstream's rows give the value as decQuantity(mantissa, exponent); several rows hold the
# same value written differently, so the id adds the row number.
STRING_IDS = [f"{n}:{c[2]}-{c[1]}" for n, c in enumerate(STRING)]


@pytest.mark.parametrize(("value", "fmt", "expect", "alternate"), STRING, ids=STRING_IDS)
def test_quantity_string(value: Fraction, fmt: QuantityFormat, expect: str, alternate: str) -> None:
    assert format_quantity(value, fmt) == expect
    assert canonical(expect) == expect  # the canonical form parses back to itself
    if alternate:
        assert canonical(alternate) == expect
    if value:
        assert format_quantity(-value, fmt) == "-" + expect


# --- TestQuantityParseEmit -------------------------------------------------------------------

PARSE_EMIT = [
    ("1Ki", "1Ki"),
    ("1Mi", "1Mi"),
    ("1Gi", "1Gi"),
    ("1024Mi", "1Gi"),
    ("1000M", "1G"),
    (".001Ki", "1024m"),
    (".000001Ki", "1024u"),
    (".000000001Ki", "1024n"),
    (".000000000001Ki", "2n"),
]


@pytest.mark.parametrize(("text", "expect"), PARSE_EMIT, ids=[c[0] for c in PARSE_EMIT])
def test_quantity_parse_emit(text: str, expect: str) -> None:
    assert canonical(text) == expect
    assert canonical("-" + text) == "-" + expect


# --- TestQuantityNeg -------------------------------------------------------------------------


def test_quantity_neg() -> None:
    # Upstream's two rows hold the same 9.01 in its two internal representations; the brain
    # has one, so they are one case here.
    assert format_quantity(-dec(901, -2), SI) == "-9010m"
    assert canonical("-9.01") == "-9010m"


# --- TestJSONWhitespace ----------------------------------------------------------------------

JSON_WHITESPACE = [
    ('" 1"', "1"),
    ('"1 "', "1"),
    ("1", "1"),
    (" 1", "1"),
    ("1 ", "1"),
    ("10", "10"),
    ("-1", "-1"),
    (" -1", "-1"),
]


@pytest.mark.parametrize(("raw", "expect"), JSON_WHITESPACE, ids=[c[0] for c in JSON_WHITESPACE])
def test_json_whitespace(raw: str, expect: str) -> None:
    assert canonical(json.loads(raw)) == expect


# --- TestMilliNewSet, TestNewSet, TestNewScaledSet, TestScaledValue --------------------------

MILLI_NEW_SET: list[tuple[int, QuantityFormat, str, bool]] = [
    (1, SI, "1m", True),
    (1000, SI, "1", True),
    (1234000, SI, "1234", True),
    (1024, BIN, "1024m", False),  # below 1 Ki: written as DecimalSI
    (1000000, EXP, "1e3", True),  # upstream passes an unknown format, which means this one
    (1024 * 1024, BIN, "1048576m", False),
]


@pytest.mark.parametrize(
    ("milli", "fmt", "expect", "exact"),
    MILLI_NEW_SET,
    ids=[f"NewMilliQuantity({c[0]},{c[1]})" for c in MILLI_NEW_SET],
)
def test_milli_new_set(milli: int, fmt: QuantityFormat, expect: str, exact: bool) -> None:
    assert format_quantity(Fraction(milli, 1000), fmt) == expect
    if exact:
        assert millicores(expect) == milli  # the brain's MilliValue


NEW_SET: list[tuple[int, QuantityFormat, str]] = [
    (1, SI, "1"),
    (1000, SI, "1k"),
    (1234000, SI, "1234k"),
    (1024, BIN, "1Ki"),
    (1000000, EXP, "1e6"),  # upstream passes an unknown format, which means this one
    (1024 * 1024, BIN, "1Mi"),
]


@pytest.mark.parametrize(
    ("value", "fmt", "expect"), NEW_SET, ids=[f"NewQuantity({c[0]},{c[1]})" for c in NEW_SET]
)
def test_new_set(value: int, fmt: QuantityFormat, expect: str) -> None:
    assert format_quantity(value, fmt) == expect
    assert parse_quantity(expect) == value
    assert to_bytes(expect) == value  # the brain's Value() for byte quantities


NEW_SCALED_SET = [
    (1, NANO, "1n"),
    (1000, NANO, "1u"),
    (1, MICRO, "1u"),
    (1000, MICRO, "1m"),
    (1, MILLI, "1m"),
    (1000, MILLI, "1"),
    (1, 0, "1"),
    (0, NANO, "0"),
    (0, MICRO, "0"),
    (0, MILLI, "0"),
    (0, 0, "0"),
]


@pytest.mark.parametrize(
    ("value", "scale", "expect"),
    NEW_SCALED_SET,
    ids=[f"NewScaledQuantity({c[0]},{c[1]})" for c in NEW_SCALED_SET],
)
def test_new_scaled_set(value: int, scale: int, expect: str) -> None:
    assert format_quantity(dec(value, scale)) == expect
    assert parse_quantity(expect) / Fraction(10) ** scale == value


SCALED_VALUE = [
    (NANO, NANO, 1),
    (NANO, MICRO, 1),
    (NANO, MILLI, 1),
    (NANO, 0, 1),
    (MICRO, NANO, 1000),
    (MICRO, MICRO, 1),
    (MICRO, MILLI, 1),
    (MICRO, 0, 1),
    (MILLI, NANO, 1000 * 1000),
    (MILLI, MICRO, 1000),
    (MILLI, MILLI, 1),
    (MILLI, 0, 1),
    (0, NANO, 1000 * 1000 * 1000),
    (0, MICRO, 1000 * 1000),
    (0, MILLI, 1000),
    (0, 0, 1),
    (2, -2, 100 * 100),
]


@pytest.mark.parametrize(
    ("from_scale", "to_scale", "expected"),
    SCALED_VALUE,
    ids=[f"{c[0]}-to-{c[1]}" for c in SCALED_VALUE],
)
def test_scaled_value(from_scale: int, to_scale: int, expected: int) -> None:
    # ScaledValue rounds up, as the brain's conversions do.
    amount = dec(1, from_scale)
    assert round_up(amount, to_scale)[0] / Fraction(10) ** to_scale == expected
    text = format_quantity(amount)
    if to_scale == MILLI:
        assert millicores(text) == expected
    if to_scale == 0:
        assert to_bytes(text) == expected


# --- TestParseQuantity: values past int64 and their canonical forms --------------------------

PARSE_QUANTITY: list[tuple[str, str, str | None]] = [
    # input, exact value, canonical form when it differs from the input
    ("-999999999999999999", "-999999999999999999", None),
    ("999999999999999999", "999999999999999999", None),
    ("-999999999999999999.0", "-999999999999999999", "-999999999999999999"),
    ("999999999999999999.0", "999999999999999999", "999999999999999999"),
    ("-999999999999999999.1", "-999999999999999999.1", "-999999999999999999100m"),
    ("999999999999999999.1", "999999999999999999.1", "999999999999999999100m"),
    ("-9999999999999999999", "-9999999999999999999", None),
    ("9999999999999999999", "9999999999999999999", None),
    ("-1E", "-1000000000000000000", None),
    ("1E", "1000000000000000000", None),
    ("-1000000000000000000", "-1000000000000000000", "-1E"),
    ("1000000000000000000", "1000000000000000000", "1E"),
    ("-9999999999999999999.0", "-9999999999999999999", "-9999999999999999999"),
    ("9999999999999999999.0", "9999999999999999999", "9999999999999999999"),
    ("-1.0E", "-1000000000000000000", "-1E"),
    ("1.0E", "1000000000000000000", "1E"),
    ("-1000000000000000000.0", "-1000000000000000000", "-1E"),
    ("1000000000000000000.0", "1000000000000000000", "1E"),
    ("-9999999999999999999000m", "-9999999999999999999", "-9999999999999999999"),
    ("9999999999999999999000m", "9999999999999999999", "9999999999999999999"),
    ("-9999999999999999999.1", "-9999999999999999999.1", "-9999999999999999999100m"),
    ("9999999999999999999.1", "9999999999999999999.1", "9999999999999999999100m"),
    ("-1.0000000000000000001E", "-1000000000000000000.1", "-1000000000000000000100m"),
    ("1.0000000000000000001E", "1000000000000000000.1", "1000000000000000000100m"),
    ("-1000000000000000000.1", "-1000000000000000000.1", "-1000000000000000000100m"),
    ("1000000000000000000.1", "1000000000000000000.1", "1000000000000000000100m"),
    ("-1.000000000000000001E", "-1000000000000000001", "-1000000000000000001"),
    ("1.000000000000000001E", "1000000000000000001", "1000000000000000001"),
    ("-1000000000000000001", "-1000000000000000001", None),
    ("1000000000000000001", "1000000000000000001", None),
    ("-10E", "-10000000000000000000", None),
    ("10E", "10000000000000000000", None),
    ("-10000000000000000000", "-10000000000000000000", "-10E"),
    ("10000000000000000000", "10000000000000000000", "10E"),
    ("-10.0E", "-10000000000000000000", "-10E"),
    ("10.0E", "10000000000000000000", "10E"),
    ("-10000000000000000000.0", "-10000000000000000000", "-10E"),
    ("10000000000000000000.0", "10000000000000000000", "10E"),
    ("-10000000000000000000000m", "-10000000000000000000", "-10E"),
    ("10000000000000000000000m", "10000000000000000000", "10E"),
    ("-10.0000000000000000001E", "-10000000000000000000.1", "-10000000000000000000100m"),
    ("10.0000000000000000001E", "10000000000000000000.1", "10000000000000000000100m"),
    ("-10000000000000000000.1", "-10000000000000000000.1", "-10000000000000000000100m"),
    ("10000000000000000000.1", "10000000000000000000.1", "10000000000000000000100m"),
    ("-10.000000000000000001E", "-10000000000000000001", "-10000000000000000001"),
    ("10.000000000000000001E", "10000000000000000001", "10000000000000000001"),
    ("-10000000000000000001", "-10000000000000000001", None),
    ("10000000000000000001", "10000000000000000001", None),
    ("-9223372036854775809", "-9223372036854775809", None),
    ("9223372036854775806", "9223372036854775806", None),
    ("-9223372036854775809.0", "-9223372036854775809", "-9223372036854775809"),
    ("9223372036854775806.0", "9223372036854775806", "9223372036854775806"),
    ("-9223372036854775809000m", "-9223372036854775809", "-9223372036854775809"),
    ("9223372036854775806000m", "9223372036854775806", "9223372036854775806"),
    ("-9223372036854775809.1", "-9223372036854775809.1", "-9223372036854775809100m"),
    ("9223372036854775806.1", "9223372036854775806.1", "9223372036854775806100m"),
    ("-9223372036854775808", "-9223372036854775808", None),
    ("9223372036854775807", "9223372036854775807", None),
    ("-9223372036854775808.0", "-9223372036854775808", "-9223372036854775808"),
    ("9223372036854775807.0", "9223372036854775807", "9223372036854775807"),
    ("-9223372036854775808000m", "-9223372036854775808", "-9223372036854775808"),
    ("9223372036854775807000m", "9223372036854775807", "9223372036854775807"),
    ("-9223372036854775808.1", "-9223372036854775808.1", "-9223372036854775808100m"),
    ("9223372036854775807.1", "9223372036854775807.1", "9223372036854775807100m"),
    ("-9223372036854775807", "-9223372036854775807", None),
    ("9223372036854775808", "9223372036854775808", None),
    ("-9223372036854775807.0", "-9223372036854775807", "-9223372036854775807"),
    ("9223372036854775808.0", "9223372036854775808", "9223372036854775808"),
    ("-9223372036854775807000m", "-9223372036854775807", "-9223372036854775807"),
    ("9223372036854775808000m", "9223372036854775808", "9223372036854775808"),
    ("-9223372036854775807.1", "-9223372036854775807.1", "-9223372036854775807100m"),
    ("9223372036854775808.1", "9223372036854775808.1", "9223372036854775808100m"),
]


@pytest.mark.parametrize(
    ("text", "value", "expect"), PARSE_QUANTITY, ids=[c[0] for c in PARSE_QUANTITY]
)
def test_parse_quantity(text: str, value: str, expect: str | None) -> None:
    # Upstream also checks which Go representation (int64 or inf.Dec) holds the value; the
    # brain has one (an exact Fraction), so the exact value stands for both.
    assert parse_quantity(text) == Fraction(value)
    assert canonical(text) == (expect or text)
