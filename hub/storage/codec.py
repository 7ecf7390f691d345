"""The lossless column codec of closed windows: int64 ms timestamps and float64 values to bytes.

Measured side by side in ``bench/storage_codec.py`` on a simulated day of 1 s host metrics.

* Timestamps: delta-of-delta (Gorilla's idea), zigzagged into the narrowest unsigned width, the
  bytes shuffled (all low bytes, then all high bytes) and zstd'd. A regular 1 s series is a run of
  zeros and costs a few bytes per window.
* Values: most host metrics are short decimals (``round(x, 2)`` percentages, whole byte counts,
  load averages). When every value of the window is exactly ``integer / 10**k`` for a small ``k``
  (checked bit for bit, so the round trip is exact), the integers are delta-coded like the
  timestamps. Otherwise each float64 is XORed with its predecessor (Gorilla's float trick, byte
  aligned so numpy can do it), shuffled and zstd'd: equal sign, exponent and high mantissa bits of
  neighbours become runs of zero bytes. Jumpy values (rates) shuffle better without the XOR;
  the smaller of the two is kept.

Everything is numpy over whole arrays; no Python loop touches a sample.
"""

from __future__ import annotations

import struct

import numpy as np
import zstandard

FORMAT = 1
KIND_XOR, KIND_DECIMAL, KIND_SHUFFLE = 0, 1, 2
#: Beyond 10**9 the scaled integers of ordinary values leave float64's exact integer range.
MAX_SCALE = 9
_EXACT = float(2**53)
_HEADER = struct.Struct("<BI")
_TS = struct.Struct("<qqBI")
_VALUES = struct.Struct("<BBqBI")
_LEVEL = 15


# One of each, reused: making a (de)compressor costs ~12 µs, ten times a small decompression,
# and a 30-day history reads 2,000 compressed columns. Not thread-safe; the hub calls the codec
# from its event loop only.
_COMPRESSOR = zstandard.ZstdCompressor(level=_LEVEL)
_DECOMPRESSOR = zstandard.ZstdDecompressor()


def _compress(data: bytes) -> bytes:
    return _COMPRESSOR.compress(data)


def _decompress(data: bytes) -> bytes:
    return _DECOMPRESSOR.decompress(data)


def zigzag(x: np.ndarray) -> np.ndarray:
    """Signed to unsigned so that small magnitudes of either sign become small numbers."""
    x = x.astype(np.int64, copy=False)
    return ((x << 1) ^ (x >> 63)).view(np.uint64)


def unzigzag(u: np.ndarray) -> np.ndarray:
    u = u.astype(np.uint64, copy=False)
    return ((u >> np.uint64(1)) ^ (np.uint64(0) - (u & np.uint64(1)))).view(np.int64)


def shuffle(u: np.ndarray) -> tuple[int, bytes]:
    """The narrowest of 1, 2, 4, 8 bytes that holds every value, then byte-plane order."""
    top = int(u.max()) if u.size else 0
    width = 1 if top < 2**8 else 2 if top < 2**16 else 4 if top < 2**32 else 8
    narrow = u.astype(f"<u{width}")
    return width, narrow.view(np.uint8).reshape(-1, width).T.tobytes()


def unshuffle(data: bytes, width: int, count: int) -> np.ndarray:
    planes = np.frombuffer(data, dtype=np.uint8).reshape(width, count)
    return np.ascontiguousarray(planes.T).view(f"<u{width}").reshape(count).astype(np.uint64)


def _pack_ints(u: np.ndarray) -> tuple[int, bytes]:
    width, raw = shuffle(u)
    return width, _compress(raw)


def encode_timestamps(ts: np.ndarray) -> bytes:
    ts = np.asarray(ts, dtype=np.int64)
    first = int(ts[0]) if ts.size else 0
    delta = int(ts[1] - ts[0]) if ts.size > 1 else 0
    width, packed = _pack_ints(zigzag(np.diff(ts, n=2)))
    return _TS.pack(first, delta, width, len(packed)) + packed


def decode_timestamps(data: bytes, offset: int, count: int) -> tuple[np.ndarray, int]:
    first, delta, width, size = _TS.unpack_from(data, offset)
    offset += _TS.size
    dod = unzigzag(unshuffle(_decompress(data[offset : offset + size]), width, max(count - 2, 0)))
    ts = np.empty(count, dtype=np.int64)
    if count:
        ts[0] = first
    if count > 1:
        deltas = np.empty(count - 1, dtype=np.int64)
        deltas[0] = delta
        np.cumsum(dod, out=deltas[1:])
        deltas[1:] += delta
        np.cumsum(deltas, out=ts[1:])
        ts[1:] += first
    return ts, offset + size


def decimal_scale(values: np.ndarray) -> tuple[int, np.ndarray] | None:
    """``(k, ints)`` with ``ints / 10**k`` bit-identical to ``values``, for the smallest ``k``."""
    peak = float(np.abs(values).max()) if values.size else 0.0
    bits = values.view(np.int64)
    for k in range(MAX_SCALE + 1):
        scale = 10.0**k
        if peak * scale >= _EXACT:
            return None
        # Checked through the very operations decode_values uses, so equality here is the proof.
        ints = np.rint(values * scale).astype(np.int64)
        back = ints.astype(np.float64)
        if k:
            back /= scale
        if np.array_equal(back.view(np.int64), bits):
            return k, ints
    return None


def encode_values(values: np.ndarray) -> bytes:
    values = np.ascontiguousarray(values, dtype=np.float64)
    found = decimal_scale(values)
    if found is not None:
        scale, ints = found
        first = int(ints[0]) if ints.size else 0
        width, packed = _pack_ints(zigzag(np.diff(ints)))
        return _VALUES.pack(KIND_DECIMAL, scale, first, width, len(packed)) + packed
    # Noisy floats (rates over a jittered interval): XOR wins on slowly moving values, plain
    # byte planes on jumpy ones; both are cheap, so keep the smaller.
    bits = values.view(np.uint64)
    xored = bits.copy()
    xored[1:] ^= bits[:-1]
    kind, packed = min(
        ((KIND_XOR, _compress(_planes(xored))), (KIND_SHUFFLE, _compress(_planes(bits)))),
        key=lambda pair: len(pair[1]),
    )
    return _VALUES.pack(kind, 0, 0, 8, len(packed)) + packed


def _planes(bits: np.ndarray) -> bytes:
    return bits.view(np.uint8).reshape(-1, 8).T.tobytes()


def decode_values(data: bytes, offset: int, count: int) -> tuple[np.ndarray, int]:
    kind, scale, first, width, size = _VALUES.unpack_from(data, offset)
    offset += _VALUES.size
    raw = _decompress(data[offset : offset + size])
    if kind == KIND_DECIMAL:
        ints = np.empty(count, dtype=np.int64)
        if count:
            ints[0] = first
            np.cumsum(unzigzag(unshuffle(raw, width, count - 1)), out=ints[1:])
            ints[1:] += first
        values = ints.astype(np.float64)
        if scale:
            values /= 10.0**scale
    elif kind == KIND_XOR:
        values = np.bitwise_xor.accumulate(unshuffle(raw, 8, count)).view(np.float64)
    else:
        values = unshuffle(raw, 8, count).view(np.float64)
    return values, offset + size


def sort_points(ts: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points in the one order every tier agrees on: by time, and points of equal time by the
    bits of their value. Write order cannot be the tie-break: a batch straddling the compaction
    horizon stays raw while a later one for the same instant is compacted."""
    order = np.argsort(ts, kind="stable")
    ts, values = ts[order], values[order]
    if ts.size > 1 and not np.all(np.diff(ts)):  # rare: equal timestamps
        order = np.lexsort((values.view(np.int64), ts))
        ts, values = ts[order], values[order]
    return ts, values


def encode_chunk(ts: np.ndarray, values: np.ndarray) -> bytes:
    """One window of one series, sorted by time, as bytes; :func:`decode_chunk` gives it back."""
    if len(ts) != len(values):
        raise ValueError(f"{len(ts)} timestamps but {len(values)} values")
    return _HEADER.pack(FORMAT, len(ts)) + encode_timestamps(ts) + encode_values(values)


def decode_chunk(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    version, count = _HEADER.unpack_from(data, 0)
    if version != FORMAT:
        raise ValueError(f"chunk format {version} is newer than this hub understands ({FORMAT})")
    ts, offset = decode_timestamps(data, _HEADER.size, count)
    values, _ = decode_values(data, offset, count)
    return ts, values
