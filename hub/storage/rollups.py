"""Rollup buckets: min, max, sum, count and anomaly count per time bucket, as numpy columns.

The same structure serves the 1-minute and 1-hour tiers the compactor writes, merging late data
into buckets already written, and the history reader's reduction of any mix of tiers to at most
``max_points`` buckets: because min and max are carried through every step, a one-second spike
is still the max of its hour.

1-minute buckets are stored packed per window (a row per minute would cost ~1 B per sample, more
than the compressed samples themselves); 1-hour buckets are plain rows.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from hostpulse.hub.storage import codec

MINUTE_MS = 60_000
HOUR_MS = 3_600_000
_HEADER = struct.Struct("<BI")


@dataclass(slots=True)
class Buckets:
    ts: np.ndarray  # int64 bucket start, epoch ms, ascending
    min: np.ndarray  # float64
    max: np.ndarray
    sum: np.ndarray
    count: np.ndarray  # int64
    anomalies: np.ndarray  # int64

    def __len__(self) -> int:
        return int(self.ts.size)

    @classmethod
    def empty(cls) -> Buckets:
        f, i = np.empty(0, np.float64), np.empty(0, np.int64)
        return cls(i, f, f, f, i, i)

    @classmethod
    def from_points(
        cls, ts: np.ndarray, values: np.ndarray, width: int, origin: int = 0, *, exact: bool = False
    ) -> Buckets:
        """Buckets of ``width`` ms aligned on ``origin`` from points sorted by time.

        With ``exact``, sums of short decimals are added as integers, so the sum of 0.1 + 0.2
        is stored as 0.3 rather than 0.30000000000000004 (it then compresses as a decimal too)."""
        if ts.size == 0:
            return cls.empty()
        index = (ts - origin) // width
        starts = np.concatenate(([0], np.flatnonzero(np.diff(index)) + 1))
        counts = np.diff(np.concatenate((starts, [ts.size])))
        sums = None
        if exact:
            found = codec.decimal_scale(values)
            if found is not None:
                scale, ints = found
                sums = np.add.reduceat(ints, starts).astype(np.float64)
                if scale:
                    sums /= 10.0**scale
        if sums is None:
            with np.errstate(over="ignore"):
                sums = np.add.reduceat(values, starts)
        return cls(
            origin + index[starts] * width,
            np.minimum.reduceat(values, starts),
            np.maximum.reduceat(values, starts),
            sums,
            counts.astype(np.int64),
            np.zeros(starts.size, np.int64),
        )

    @classmethod
    def concat(cls, parts: list[Buckets]) -> Buckets:
        parts = [p for p in parts if len(p)]
        if not parts:
            return cls.empty()
        if len(parts) == 1:
            return parts[0]
        return cls(*(np.concatenate([getattr(p, f) for p in parts]) for f in _FIELDS))

    def regroup(self, width: int, origin: int = 0) -> Buckets:
        """Merge into buckets of ``width`` aligned on ``origin``; also merges equal buckets."""
        if not len(self):
            return self
        index = (self.ts - origin) // width
        order = np.argsort(index, kind="stable")
        index = index[order]
        starts = np.concatenate(([0], np.flatnonzero(np.diff(index)) + 1))
        with np.errstate(over="ignore", invalid="ignore"):
            sums = np.add.reduceat(self.sum[order], starts)
        return Buckets(
            origin + index[starts] * width,
            np.minimum.reduceat(self.min[order], starts),
            np.maximum.reduceat(self.max[order], starts),
            sums,
            np.add.reduceat(self.count[order], starts),
            np.add.reduceat(self.anomalies[order], starts),
        )

    def within(self, start: int, end: int) -> Buckets:
        keep = (self.ts >= start) & (self.ts <= end)
        return Buckets(*(getattr(self, f)[keep] for f in _FIELDS))

    def as_points(self) -> list[list[float]]:
        """``[ts, mean, min, max]`` per bucket: the shape the dashboard draws."""
        # Near float64's limit a sum can overflow to ±inf; the mean then falls back to the
        # bucket's extreme, which JSON can carry.
        with np.errstate(over="ignore", invalid="ignore"):
            means = np.clip(self.sum / np.maximum(self.count, 1), self.min, self.max)
        return [
            [int(t), float(m), float(lo), float(hi)]
            for t, m, lo, hi in zip(self.ts, means, self.min, self.max, strict=True)
        ]


_FIELDS = ("ts", "min", "max", "sum", "count", "anomalies")


def encode_buckets(b: Buckets) -> bytes:
    """A window's buckets as bytes, each column through the chunk codec (exact round trip)."""
    return (
        _HEADER.pack(1, len(b))
        + codec.encode_timestamps(b.ts)
        + b"".join(
            codec.encode_values(col.astype(np.float64))
            for col in (b.min, b.max, b.sum, b.count, b.anomalies)
        )
    )


def decode_buckets(data: bytes) -> Buckets:
    version, count = _HEADER.unpack_from(data, 0)
    if version != 1:
        raise ValueError(f"rollup format {version} is newer than this hub understands (1)")
    ts, offset = codec.decode_timestamps(data, _HEADER.size, count)
    columns = []
    for _ in range(5):
        column, offset = codec.decode_values(data, offset, count)
        columns.append(column)
    low, high, sums, counts, anomalies = columns
    return Buckets(ts, low, high, sums, counts.astype(np.int64), anomalies.astype(np.int64))
