"""The device-assignment annotation: what the scheduler writes is what the agent reads back."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gpuplane.errors import InputError, Location
from gpuplane.objects.assignment import DeviceAssignment, decode_assignment

TRIPLES = st.lists(
    st.tuples(st.integers(0, 15), st.integers(0, 1000), st.integers(0, 200_000)), max_size=8
)


@given(st.text(min_size=1, max_size=20), TRIPLES, st.booleans())
def test_encode_then_decode_gives_the_same_assignment(node, triples, with_devices):
    devices = tuple(f"gpu{g}::{i}" for i, (g, _, _) in enumerate(triples)) if with_devices else ()
    a = DeviceAssignment(
        node,
        tuple(t[0] for t in triples),
        tuple(t[1] for t in triples),
        tuple(t[2] for t in triples),
        devices,
    )
    assert decode_assignment(a.encode()) == a


def test_the_encoding_is_compact_versioned_json():
    a = DeviceAssignment("n1", (2,), (500,), (40960,), ("gpu2::1",))
    assert a.encode() == '{"v":1,"node":"n1","gpus":[[2,500,40960]],"devices":["gpu2::1"]}'


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("{", "not JSON"),
        ("[]", "not a JSON object"),
        ('{"v":2,"node":"n"}', "unknown format version 2"),
        ('{"v":1}', "no node name"),
        ('{"v":1,"node":"n","gpus":{}}', "must be lists"),
        ('{"v":1,"node":"n","gpus":[[1,2]]}', "is not [index, milli, memory MiB]"),
        ('{"v":1,"node":"n","gpus":[[1,-2,3]]}', "is not [index, milli, memory MiB]"),
        ('{"v":1,"node":"n","gpus":[[1,true,3]]}', "is not [index, milli, memory MiB]"),
        ('{"v":1,"node":"n","gpus":[[1,2,3]],"devices":["a","b"]}', "2 devices for 1 GPU"),
        ('{"v":1,"node":"n","gpus":[[1,2,3]],"devices":[""]}', "non-empty strings"),
        ('{"v":1,"node":"n","gpus":' + "[" * 5000 + "]" * 5000 + "}", "not JSON"),
        ('{"v":1,"node":"n","gpus":[' + ",".join(["[0,0,0]"] * 1025) + "]}", "more than 1024"),
    ],
)
def test_a_malformed_value_is_an_input_error_that_says_where(text, why):
    with pytest.raises(InputError) as err:
        decode_assignment(text, Location("team/pod-0"))
    assert why in err.value.message
    assert str(err.value).startswith("team/pod-0: metadata.annotations[gpuplane.io/devices]")
