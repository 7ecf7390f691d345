"""The chunk codec gives back exactly what it was given, and is small on the data it is built for."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from hostpulse.hub.storage import codec

EPOCH_MS = st.integers(min_value=0, max_value=2**45)


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and np.array_equal(a.view(np.int64), b.view(np.int64))


@settings(max_examples=300, deadline=None)
@given(
    hnp.arrays(np.int64, st.integers(1, 400), elements=EPOCH_MS),
    st.data(),
)
def test_any_finite_floats_round_trip_bit_for_bit(ts: np.ndarray, data: st.DataObject) -> None:
    values = data.draw(hnp.arrays(np.float64, ts.size, elements=st.floats(allow_nan=False, allow_infinity=False)))
    back_ts, back_values = codec.decode_chunk(codec.encode_chunk(ts, values))
    assert np.array_equal(back_ts, ts)
    assert same_bits(back_values, values)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, 6),
    hnp.arrays(np.int64, st.integers(1, 300), elements=st.integers(-(10**12), 10**12)),
)
def test_short_decimals_round_trip(decimals: int, ints: np.ndarray) -> None:
    values = np.round(ints / 10.0**decimals, decimals)
    ts = 1_764_000_000_000 + np.arange(values.size, dtype=np.int64) * 1000
    _, back = codec.decode_chunk(codec.encode_chunk(ts, values))
    assert same_bits(back, values)


def test_negative_zero_keeps_its_sign() -> None:
    values = np.array([0.0, -0.0, 1.5, -0.0])
    _, back = codec.decode_chunk(codec.encode_chunk(np.arange(4, dtype=np.int64), values))
    assert same_bits(back, values)


def test_irregular_timestamps_and_duplicates() -> None:
    ts = np.array([5, 5, 1000, 1999, 2001, 10**12, 10**12 + 1], dtype=np.int64)
    back, _ = codec.decode_chunk(codec.encode_chunk(ts, np.zeros(ts.size)))
    assert np.array_equal(back, ts)


def test_regular_percentages_cost_well_under_two_bytes_a_sample() -> None:
    rng = np.random.default_rng(3)
    values = np.round(np.clip(30 + np.cumsum(rng.normal(0, 0.5, 7200)), 0, 100), 2)
    ts = 1_764_000_000_000 + np.arange(7200, dtype=np.int64) * 1000
    blob = codec.encode_chunk(ts, values)
    assert len(blob) / values.size < 2.0
    assert codec.decimal_scale(values) is not None and codec.decimal_scale(values)[0] == 2


def test_mismatched_lengths_and_unknown_format_are_refused() -> None:
    with pytest.raises(ValueError):
        codec.encode_chunk(np.arange(3, dtype=np.int64), np.zeros(2))
    blob = bytearray(codec.encode_chunk(np.arange(3, dtype=np.int64), np.zeros(3)))
    blob[0] = 99
    with pytest.raises(ValueError, match="format"):
        codec.decode_chunk(bytes(blob))


def test_points_sort_by_time_then_value_bits_whatever_the_input_order() -> None:
    ts = np.array([3, 1, 2, 1, 3], dtype=np.int64)
    values = np.array([5.0, 2.0, 0.0, -1.0, 4.0])
    got_ts, got_values = codec.sort_points(ts, values)
    assert got_ts.tolist() == [1, 1, 2, 3, 3]
    again = codec.sort_points(ts[::-1].copy(), values[::-1].copy())
    assert np.array_equal(again[0], got_ts) and np.array_equal(again[1], got_values)
    assert sorted(got_values[:2].tolist()) == [-1.0, 2.0] and sorted(got_values[3:].tolist()) == [4.0, 5.0]
