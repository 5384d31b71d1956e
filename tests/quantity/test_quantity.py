"""Kubernetes quantities: the grammar of k8s.io/apimachinery resource.ParseQuantity, the
conversions into the brain's integer units, and formatting back."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gpuplane.errors import InputError, Location, QuantityError
from gpuplane.quantity import (
    MAX_BINARY,
    MIB,
    QuantityFormat,
    format_cpu,
    format_memory,
    format_quantity,
    mebibytes,
    millicores,
    parse_quantity,
    to_bytes,
    whole,
)

DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
BINARY = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}

# --- the grammar ------------------------------------------------------------------------------

ACCEPTED: list[tuple[object, Fraction]] = [
    # decimal SI suffixes
    ("1n", Fraction(1, 10**9)),
    ("1u", Fraction(1, 10**6)),
    ("500m", Fraction(1, 2)),
    ("1", Fraction(1)),
    ("2k", Fraction(2000)),
    ("3M", Fraction(3 * 10**6)),
    ("4G", Fraction(4 * 10**9)),
    ("5T", Fraction(5 * 10**12)),
    ("6P", Fraction(6 * 10**15)),
    ("7E", Fraction(7 * 10**18)),  # a lone E is exa, not an exponent
    ("0", Fraction(0)),
    ("000", Fraction(0)),
    ("007", Fraction(7)),
    # binary SI suffixes
    ("1Ki", Fraction(1024)),
    ("1Mi", Fraction(1024**2)),
    ("64Gi", Fraction(64 * 1024**3)),
    ("1Ti", Fraction(1024**4)),
    ("1Pi", Fraction(1024**5)),
    ("1Ei", Fraction(1024**6)),
    ("1.5Gi", Fraction(1536 * 1024**2)),
    ("0.5Ki", Fraction(512)),
    # decimal exponents, both letters, with and without signs
    ("1e3", Fraction(1000)),
    ("1E3", Fraction(1000)),
    ("1e+3", Fraction(1000)),
    ("1E+3", Fraction(1000)),
    ("1e-3", Fraction(1, 1000)),
    ("1E-3", Fraction(1, 1000)),
    ("1.5e3", Fraction(1500)),
    ("1e0", Fraction(1)),
    ("1e0003", Fraction(1000)),
    ("1e30", Fraction(10**30)),
    ("1e31", Fraction(10**31)),
    ("1e1000", Fraction(10**1000)),
    ("1e-9", Fraction(1, 10**9)),
    ("1e-30", Fraction(1, 10**9)),  # rounds up to 1n: asking for some gets some
    ("1e-2147483648", Fraction(1, 10**9)),
    ("1e-" + "0" * 5000 + "3", Fraction(1, 1000)),  # leading zeros in the exponent
    ("1e4294967296", Fraction(1)),  # an int64 exponent keeps its low 32 bits, as in Go
    ("-0.1n", Fraction(-1, 10**9)),  # rounds away from zero
    ("9Ei", Fraction(2**63 - 1)),  # binary suffixes cap at 2^63-1
    ("-9Ei", Fraction(-(2**63 - 1))),
    ("9E", Fraction(9 * 10**18)),  # decimal ones do not
    # an empty number is zero, whatever follows it
    (".", Fraction(0)),
    ("-.", Fraction(0)),
    ("+", Fraction(0)),
    ("-", Fraction(0)),
    ("m", Fraction(0)),
    ("Ki", Fraction(0)),
    ("e3", Fraction(0)),
    # leading signs
    ("+1", Fraction(1)),
    ("-1", Fraction(-1)),
    ("+500m", Fraction(1, 2)),
    ("-1Ki", Fraction(-1024)),
    ("-1e3", Fraction(-1000)),
    ("-0", Fraction(0)),
    # the number forms: digits, digits.digits, digits., .digits
    ("1.", Fraction(1)),
    (".5", Fraction(1, 2)),
    ("1.5", Fraction(3, 2)),
    ("+.5", Fraction(1, 2)),
    ("-.5", Fraction(-1, 2)),
    ("1.G", Fraction(10**9)),  # Kubernetes accepts an empty fraction before a suffix
    ("1.e3", Fraction(1000)),
    ("0.1m", Fraction(1, 10**4)),
    ("1.2345", Fraction(12345, 10**4)),  # no three-decimal limit
    ("18446744073709551616", Fraction(2**64)),  # no int64 limit on decimal values
    # spaces around the value, which the API server's JSON decoding trims
    (" 2 ", Fraction(2)),
    ("\u00a02", Fraction(2)),
    # what YAML hands over for unquoted numbers
    (0, Fraction(0)),
    (4, Fraction(4)),
    (-3, Fraction(-3)),
    (2**70, Fraction(2**70)),
    (0.5, Fraction(1, 2)),
    (0.1, Fraction(1, 10)),  # the decimal the user typed, not the binary float
    (1.5, Fraction(3, 2)),
    (2.0, Fraction(2)),
    (-0.25, Fraction(-1, 4)),
    (1e-05, Fraction(1, 10**5)),
    (1e22, Fraction(10**22)),
    (1e300, Fraction(10**300)),  # repr is 1e+300
]


@pytest.mark.parametrize(("value", "expected"), ACCEPTED, ids=repr)
def test_accepts(value: object, expected: Fraction) -> None:
    result = parse_quantity(value)
    assert result == expected
    assert isinstance(result, Fraction)


@pytest.mark.parametrize("suffix", list(DECIMAL))
def test_every_decimal_suffix(suffix: str) -> None:
    assert parse_quantity(f"3{suffix}") == 3 * Fraction(10) ** DECIMAL[suffix]


@pytest.mark.parametrize("suffix", list(BINARY))
def test_every_binary_suffix(suffix: str) -> None:
    assert parse_quantity(f"3{suffix}") == 3 * 1024 ** BINARY[suffix]


REJECTED: list[object] = [
    "",
    "   ",
    "1.2.3",
    "1KiB",
    "1 Gi",
    "1e",
    "1E+",
    "1e-",
    "1e3.5",
    "1Ee3",
    "1e3m",
    "1m3",
    "abc",
    "--1",
    "+-1",
    "1K",  # kilo is lower-case k; K only appears in Ki
    "1ki",
    "1KI",
    "1i",
    "1mi",
    "1g",
    "1Gib",
    "0x10",
    "1_000",
    "1,5",
    "½",
    "１",  # full-width digit: \d would take it, Kubernetes does not
    "٣",  # Arabic-Indic digit
    "1e1001",  # beyond the exponent cap
    "1e9223372036854775808",  # not an int64
    "1\n2",
    "\t1",  # tabs and newlines reach the API server escaped, so they are not trimmed
    "1\t",
    "\n1",
    "\u20281",
    None,
    True,
    False,
    float("nan"),
    float("inf"),
    float("-inf"),
    [1],
    {"cpu": 1},
    b"1",
    Fraction(1, 2),
]


@pytest.mark.parametrize("value", REJECTED, ids=repr)
def test_rejects(value: object) -> None:
    with pytest.raises(QuantityError) as caught:
        parse_quantity(value)
    assert isinstance(caught.value, InputError)
    assert caught.value.hint  # tells the user what a quantity looks like


def test_rejection_names_the_text() -> None:
    with pytest.raises(QuantityError, match="1KiB"):
        parse_quantity("1KiB")


@pytest.mark.parametrize(
    "value",
    ["1e" + "9" * 5000, "1" * 5000, "0." + "1" * 5000],
    ids=["huge-exponent", "long-integer", "long-fraction"],
)
def test_too_many_digits_is_a_quantity_error(value: str) -> None:
    # Python's int() refuses >4300 digits with ValueError; that must not escape as a traceback.
    with pytest.raises(QuantityError):
        parse_quantity(value)


# --- conversions ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("500m", 500),
        ("0.5", 500),
        ("2", 2000),
        (2, 2000),
        (0.25, 250),
        ("100m", 100),
        ("1.5e-1", 150),
        ("0.1m", 1),  # rounds up: asking for some CPU gets some
        ("1n", 1),
        ("1001u", 2),
        ("1000u", 1),
        ("0", 0),
        ("1k", 1_000_000),
    ],
)
def test_millicores(value: object, expected: int) -> None:
    assert millicores(value) == expected


@pytest.mark.parametrize(
    ("value", "up", "down"),
    [
        ("1Mi", 1, 1),
        ("64Gi", 64 * 1024, 64 * 1024),
        ("1.5Mi", 2, 1),
        ("1", 1, 0),
        ("1Ki", 1, 0),
        ("1G", 954, 953),  # 10**9 / 2**20 = 953.67...
        ("0", 0, 0),
        (MIB, 1, 1),
        (MIB + 1, 2, 1),
        ("1e9", 954, 953),
    ],
)
def test_mebibytes(value: object, up: int, down: int) -> None:
    assert mebibytes(value) == up
    assert mebibytes(value, round_up=True) == up
    assert mebibytes(value, round_up=False) == down


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1Ki", 1024), ("1k", 1000), ("1.5", 2), ("1m", 1), ("0", 0), ("64Gi", 64 * 1024**3)],
)
def test_to_bytes_rounds_up(value: object, expected: int) -> None:
    assert to_bytes(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"), [("1", 1), (8, 8), ("1k", 1000), ("2000m", 2), ("1e2", 100), (0, 0)]
)
def test_whole(value: object, expected: int) -> None:
    assert whole(value, resource="nvidia.com/gpu") == expected


@pytest.mark.parametrize("value", [0.5, "500m", "1.5", "1n", "1e-3"])
def test_whole_rejects_fractions_and_names_the_resource(value: object) -> None:
    with pytest.raises(QuantityError) as caught:
        whole(value, resource="nvidia.com/gpu")
    message = str(caught.value)
    assert "nvidia.com/gpu" in message
    assert "whole" in message
    assert repr(value) in message
    assert caught.value.hint


def test_whole_without_resource_name() -> None:
    with pytest.raises(QuantityError, match=r"^must be a whole number, got '500m'"):
        whole("500m")


@pytest.mark.parametrize("convert", [millicores, to_bytes, mebibytes, whole])
@pytest.mark.parametrize("value", ["-1", -1, "-500m", -0.5, "-1Gi", "-1e3"])
def test_negatives_rejected_with_the_value(convert: object, value: object) -> None:
    assert callable(convert)
    with pytest.raises(QuantityError) as caught:
        convert(value)
    message = str(caught.value)
    assert str(value) in message
    assert "negative" in message


def test_mebibytes_capacity_negative_rejected() -> None:
    with pytest.raises(QuantityError, match="-1Mi"):
        mebibytes("-1Mi", round_up=False)


@pytest.mark.parametrize("convert", [millicores, to_bytes, mebibytes, whole])
def test_conversions_reject_garbage(convert: object) -> None:
    assert callable(convert)
    with pytest.raises(QuantityError):
        convert("1KiB")


# --- formatting -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "binary", "expected"),  # binary: the BinarySI style, else DecimalSI
    [
        (0, False, "0"),
        (0, True, "0"),
        (Fraction(0), True, "0"),
        (1, False, "1"),
        (1000, False, "1k"),
        (1500, False, "1500"),
        (Fraction(1, 2), False, "500m"),
        (Fraction(3, 2), False, "1500m"),
        (Fraction(1, 10**9), False, "1n"),
        (Fraction(1, 10**6), False, "1u"),
        (10**18, False, "1E"),
        (10**21, False, "1000E"),
        (-1000, False, "-1k"),
        (Fraction(-1, 2), False, "-500m"),
        (1024, True, "1Ki"),
        (1024, False, "1024"),
        (1536 * MIB, True, "1536Mi"),
        (64 * 1024**3, True, "64Gi"),
        (1024**6, True, "1Ei"),
        (1024**7, True, "1024Ei"),
        (-2048, True, "-2Ki"),
        (1000, True, "1k"),  # below 1024: written as DecimalSI
        (1025, True, "1025"),
        (Fraction(2049, 2), True, "1024500m"),  # not whole: DecimalSI
        (512, True, "512"),
        (Fraction(1, 2), True, "500m"),
    ],
)
def test_format_quantity(amount: Fraction | int, binary: bool, expected: str) -> None:
    assert format_quantity(amount, "BinarySI" if binary else "DecimalSI") == expected


@pytest.mark.parametrize(
    ("amount", "expected"),
    [(0, "0"), (1, "1"), (1000, "1e3"), (1500, "1500"), (Fraction(1, 2), "500e-3"),
     (10**31, "10e30"), (Fraction(-1, 10**9), "-1e-9"), (10**21, "1e21")],
)
def test_format_quantity_decimal_exponent(amount: Fraction | int, expected: str) -> None:
    assert format_quantity(amount, "DecimalExponent") == expected


def test_format_quantity_refuses_sub_nano() -> None:
    with pytest.raises(ValueError, match="finer than 1n"):
        format_quantity(Fraction(1, 3))
    with pytest.raises(ValueError, match="finer than 1n"):
        format_quantity(Fraction(1, 10**10))


@pytest.mark.parametrize(
    ("milli", "expected"), [(0, "0"), (1, "1m"), (500, "500m"), (1000, "1"), (2500, "2500m")]
)
def test_format_cpu(milli: int, expected: str) -> None:
    assert format_cpu(milli) == expected


@pytest.mark.parametrize(
    ("mib", "expected"), [(0, "0"), (1, "1Mi"), (512, "512Mi"), (1024, "1Gi"), (1536, "1536Mi")]
)
def test_format_memory(mib: int, expected: str) -> None:
    assert format_memory(mib) == expected


# --- properties -------------------------------------------------------------------------------

NANO_DENOMINATORS = [10**k for k in range(10)] + [2, 4, 5, 8, 20, 25, 125, 512, 2**9 * 5**9]
nano_fractions = st.builds(
    Fraction,
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from(NANO_DENOMINATORS),
)


@given(nano_fractions, st.sampled_from(["DecimalSI", "DecimalExponent"]))
def test_format_then_parse_round_trips(amount: Fraction, style: QuantityFormat) -> None:
    text = format_quantity(amount, style)
    assert parse_quantity(text) == amount


@given(
    st.builds(
        Fraction,
        st.integers(min_value=-MAX_BINARY, max_value=MAX_BINARY),
        st.sampled_from(NANO_DENOMINATORS),
    )
)
def test_binary_format_then_parse_round_trips(amount: Fraction) -> None:
    assert parse_quantity(format_quantity(amount, "BinarySI")) == amount


@given(st.integers(min_value=-(10**12), max_value=10**12), st.sampled_from(list(DECIMAL)))
def test_integer_with_any_decimal_suffix(n: int, suffix: str) -> None:
    value = n * Fraction(10) ** DECIMAL[suffix]
    assert parse_quantity(f"{n}{suffix}") == value
    assert parse_quantity(format_quantity(value)) == value


@given(st.integers(min_value=-(10**12), max_value=10**12), st.sampled_from(list(BINARY)))
def test_integer_with_any_binary_suffix(n: int, suffix: str) -> None:
    value = Fraction(n * 1024 ** BINARY[suffix])
    capped = max(-MAX_BINARY, min(MAX_BINARY, value))  # binary suffixes cap at 2^63-1
    assert parse_quantity(f"{n}{suffix}") == capped
    assert parse_quantity(format_quantity(capped, "BinarySI")) == capped
    assert parse_quantity(format_quantity(value)) == value


@given(st.integers(min_value=-(10**9), max_value=10**9), st.integers(min_value=-9, max_value=30))
def test_exponent_forms_agree(n: int, exponent: int) -> None:
    value = n * Fraction(10) ** exponent
    for letter in "eE":
        assert parse_quantity(f"{n}{letter}{exponent}") == value
        assert parse_quantity(f"{n}{letter}{exponent:+d}") == value


@given(st.integers(min_value=0, max_value=10**9))
def test_format_cpu_round_trips(milli: int) -> None:
    assert millicores(format_cpu(milli)) == milli


@given(st.integers(min_value=0, max_value=10**9))
def test_format_memory_round_trips(mib: int) -> None:
    text = format_memory(mib)
    assert mebibytes(text) == mib
    assert mebibytes(text, round_up=False) == mib
    assert to_bytes(text) == mib * MIB


@given(st.integers(min_value=1, max_value=10**6), st.sampled_from(list(BINARY)))
def test_binary_picks_the_largest_exact_suffix(n: int, suffix: str) -> None:
    # Strip factors of 1024 out of n so that `suffix` is the largest exact one.
    while n % 1024 == 0:
        n //= 1024
    assert format_quantity(n * 1024 ** BINARY[suffix], "BinarySI") == f"{n}{suffix}"


@given(st.integers(min_value=1, max_value=10**6), st.sampled_from(list(DECIMAL)))
def test_decimal_picks_the_largest_exact_suffix(n: int, suffix: str) -> None:
    while n % 1000 == 0:
        n //= 1000
    amount = n * Fraction(10) ** DECIMAL[suffix]
    assert format_quantity(amount) == f"{n}{suffix}"


@given(nano_fractions.map(lambda a: abs(a) % 10**6))
def test_conversions_round_up_and_down(amount: Fraction) -> None:
    # Within gpuplane.limits: a million cores, 1 PiB (past them, see the test below).
    text = format_quantity(amount)
    assert millicores(text) >= amount * 1000 > millicores(text) - 1
    up, down = mebibytes(text), mebibytes(text, round_up=False)
    assert down * MIB <= amount <= up * MIB
    assert up - down in (0, 1)
    assert (up == down) == ((amount / MIB).denominator == 1)


@given(st.integers(min_value=10**6 + 1, max_value=10**40))
def test_amounts_past_the_limits_are_refused(amount: int) -> None:
    with pytest.raises(QuantityError, match="more than gpuplane takes"):
        millicores(str(amount))
    with pytest.raises(QuantityError, match="more than gpuplane takes"):
        mebibytes(f"{amount}Pi")
    with pytest.raises(QuantityError, match="more than gpuplane takes"):
        to_bytes(f"{amount}Pi")


locations = st.builds(
    Location,
    file=st.none() | st.text(min_size=1, max_size=20),
    line=st.none() | st.integers(min_value=1, max_value=10**6),
    field=st.none() | st.text(min_size=1, max_size=30),
)


@given(locations, st.sampled_from(["", "1KiB", "abc", "--1", "1e", "1e1001"]))
def test_parse_error_carries_location(where: Location, text: str) -> None:
    with pytest.raises(QuantityError) as caught:
        parse_quantity(text, where)
    assert caught.value.where == where


@given(locations, st.sampled_from([millicores, to_bytes, mebibytes, whole]))
def test_negative_error_carries_location(where: Location, convert: object) -> None:
    assert callable(convert)
    with pytest.raises(QuantityError) as caught:
        convert("-1", where)
    assert caught.value.where == where


@given(locations)
def test_whole_error_carries_location(where: Location) -> None:
    with pytest.raises(QuantityError) as caught:
        whole("500m", where, resource="nvidia.com/gpu")
    assert caught.value.where == where


def test_location_shows_in_the_message() -> None:
    where = Location(file="pod.yaml", line=12, field="spec.containers[0].resources.limits.cpu")
    with pytest.raises(QuantityError) as caught:
        millicores("1 core", where)
    assert str(caught.value).startswith("pod.yaml:12: spec.containers[0].resources.limits.cpu: ")
