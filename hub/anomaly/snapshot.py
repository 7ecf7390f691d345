"""The snapshot of one series' detector state: its bytes, written and read without numpy.

Little-endian: ``b"HPA1"``, u16 name length, name (UTF-8), u32 state size, i64 samples seen, i64
last timestamp, then ``state size`` float64. The hub's banks (:mod:`.bank`) and the one-series
stream of ``hostpulse detect`` (:mod:`.stream`) both go through :func:`pack` and :func:`unpack`,
so a snapshot taken by either restores in the other.
"""

from __future__ import annotations

import math
import struct

MAGIC = b"HPA1"
_HEAD = struct.Struct("<4sH")
_TAIL = struct.Struct("<Iqq")
#: A restored state value that is not finite is replaced: NaN by 0, infinities by +-this.
BIG = 1e300


class SnapshotError(ValueError):
    """A snapshot that is corrupt, or from another detector or configuration."""


def pack(name: str, seen: int, last: int, body: bytes) -> bytes:
    """A snapshot of detector ``name``'s state ``body`` (little-endian float64)."""
    encoded = name.encode()
    return _HEAD.pack(MAGIC, len(encoded)) + encoded + _TAIL.pack(len(body) // 8, seen, last) + body


def unpack(blob: bytes, name: str, size: int) -> tuple[int, int, bytes]:
    """``(seen, last, body)`` of a snapshot of detector ``name`` with ``size`` state values;
    SnapshotError if it is corrupt or does not fit."""
    try:
        magic, name_len = _HEAD.unpack_from(blob, 0)
        stored_name = bytes(blob[_HEAD.size : _HEAD.size + name_len]).decode()
        offset = _HEAD.size + name_len
        stored_size, seen, last = _TAIL.unpack_from(blob, offset)
    except (struct.error, UnicodeDecodeError) as exc:
        raise SnapshotError(f"corrupt anomaly snapshot: {exc}") from exc
    body = bytes(blob[offset + _TAIL.size :])
    if magic != MAGIC or stored_name != name or stored_size != size or len(body) != 8 * size:
        raise SnapshotError(
            f"snapshot of {stored_name!r} ({stored_size} values) does not fit detector "
            f"{name!r} ({size} values)"
        )
    return max(seen, 0), last, body


def floats(body: bytes) -> list[float]:
    """The state values of a snapshot body as Python floats, non-finite ones replaced (see BIG)."""
    values = struct.unpack(f"<{len(body) // 8}d", body)
    return [finite(v) for v in values]


def finite(v: float) -> float:
    """``v`` if finite, else 0 for NaN and +-BIG for infinities (numpy's nan_to_num, for one)."""
    if math.isfinite(v):
        return v
    return 0.0 if math.isnan(v) else math.copysign(BIG, v)


def body_of(values: list[float]) -> bytes:
    """A snapshot body from Python floats."""
    return struct.pack(f"<{len(values)}d", *values)
