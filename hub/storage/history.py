"""Reading a series back as one timeline across the tiers.

The tier comes from the bucket width the request implies, ``(to - from) / max_points``: raw
points (chunks of closed windows plus recent raw blocks) below a minute, 1-minute rollups below
an hour, 1-hour rollups beyond; a tier whose retention does not reach back to ``from`` gives way
to the next coarser one. Recent raw blocks not yet compacted are always part of the answer, turned
into buckets on the fly where a rollup tier is read.

Each tier is read in ONE SQL statement (a UNION ALL of the tier's table and raw_blocks): the
compactor replaces raw blocks by a chunk in one transaction, and a single statement sees one
snapshot on SQLite and PostgreSQL alike, so a point is never missed nor counted twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hostpulse.hub.settings import Settings
from hostpulse.hub.storage import codec
from hostpulse.hub.storage.database import connection
from hostpulse.hub.storage.rollups import HOUR_MS, MINUTE_MS, Buckets, decode_buckets
from hostpulse.hub.storage.sql import placeholders

DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class Tier:
    name: str
    resolution_ms: int  # 0 for raw points
    retain_setting: str


RAW = Tier("raw", 0, "retain_raw_days")
MINUTE = Tier("1m", MINUTE_MS, "retain_1m_days")
HOUR = Tier("1h", HOUR_MS, "retain_1h_days")
TIERS = (RAW, MINUTE, HOUR)


def bucket_width(start: int, end: int, max_points: int) -> int:
    return max(1, -(-(end - start + 1) // max_points))


def choose_tier(start: int, end: int, max_points: int, settings: Settings, now_ms: int) -> Tier:
    """The coarsest tier whose resolution still fits in one bucket; if its retention does not
    reach back to ``start``, the next coarser one that does (else the one kept longest)."""
    width = bucket_width(start, end, max_points)
    first = max(i for i, t in enumerate(TIERS) if t.resolution_ms <= width)
    for tier in TIERS[first:]:
        if start >= now_ms - int(getattr(settings, tier.retain_setting) * DAY_MS):
            return tier
    return max(TIERS, key=lambda t: getattr(settings, t.retain_setting))


async def read_history(
    series_id: int, start: int, end: int, max_points: int, settings: Settings, now_ms: int
) -> tuple[Tier, list[list[float]]]:
    """At most ``max_points`` points of a series in [start, end]: ``[ts, value]`` when the raw
    points fit, else ``[bucket_start, mean, min, max]`` per non-empty bucket."""
    tier = choose_tier(start, end, max_points, settings, now_ms)
    if tier is RAW:
        ts, values = await read_points(series_id, start, end)
        return tier, downsample(ts, values, start, end, max_points)
    buckets = await read_buckets(series_id, start, end, tier)
    return tier, buckets.regroup(bucket_width(start, end, max_points), start).as_points()


_RAW_SQL = (
    'SELECT 0 AS k, ts AS a, "values" AS b FROM raw_blocks '
    "WHERE series_id = ? AND t_max >= ? AND t_min <= ? "
)


async def read_points(series_id: int, start: int, end: int) -> tuple[np.ndarray, np.ndarray]:
    """All stored points of a series with start <= ts <= end, in :func:`codec.sort_points` order."""
    conn = connection()
    dialect = conn.capabilities.dialect
    null = "CAST(NULL AS BYTEA)" if dialect == "postgres" else "NULL"
    # Positional rows and one join per column: the open window alone is ~4,000 blocks of a
    # 2-second agent. No ORDER BY: sort_points gives the one order whatever the tier.
    _, rows = await conn.execute_query(
        placeholders(
            dialect,
            f"SELECT 1 AS k, data AS a, {null} AS b FROM chunks "
            "WHERE series_id = ? AND t_end > ? AND t_start <= ? "
            "UNION ALL " + _RAW_SQL,
        ),
        [series_id, start, end, series_id, start, end],
    )
    ts_parts, value_parts = _raw_columns(rows)
    for row in rows:
        if row[0] == 1:
            ts, values = codec.decode_chunk(bytes(row[1]))
            ts_parts.append(ts)
            value_parts.append(values)
    if not ts_parts:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64)
    ts, values = np.concatenate(ts_parts), np.concatenate(value_parts)
    keep = (ts >= start) & (ts <= end)
    return codec.sort_points(ts[keep], values[keep])


def _raw_columns(rows: Sequence[Any]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The raw-block rows (kind 0) of a UNION ALL result as one ts and one values array."""
    raw = [row for row in rows if row[0] == 0]
    if not raw:
        return [], []
    return (
        [np.frombuffer(b"".join(row[1] for row in raw), dtype="<i8")],
        [np.frombuffer(b"".join(row[2] for row in raw), dtype="<f8")],
    )


async def read_buckets(series_id: int, start: int, end: int, tier: Tier) -> Buckets:
    """The tier's buckets starting in [start, end], with uncompacted raw blocks folded in."""
    conn = connection()
    dialect = conn.capabilities.dialect
    null = "CAST(NULL AS BYTEA)" if dialect == "postgres" else "NULL"
    raw = _RAW_SQL.replace("AS b ", "AS b, 0 AS t, 0.0 AS mn, 0.0 AS mx, 0.0 AS sm, 0 AS c, 0 AS an ")
    if tier is MINUTE:
        tier_sql = (
            f"SELECT 1, data, {null}, 0, 0.0, 0.0, 0.0, 0, 0 FROM rollups_1m "
            "WHERE series_id = ? AND t_end > ? AND t_start <= ?"
        )
    else:
        tier_sql = (
            f"SELECT 2, {null}, {null}, ts, min, max, sum, count, anomaly_count FROM rollups_1h "
            "WHERE series_id = ? AND ts >= ? AND ts <= ?"
        )
    _, rows = await conn.execute_query(
        placeholders(dialect, f"{raw} UNION ALL {tier_sql}"),
        [series_id, start, end, series_id, start, end],
    )
    parts = [decode_buckets(bytes(row[1])) for row in rows if row[0] == 1]
    hours = [tuple(row)[3:9] for row in rows if row[0] == 2]
    if hours:
        t, mn, mx, sm, c, an = zip(*hours, strict=True)
        parts.append(
            Buckets(
                np.array(t, np.int64), np.array(mn, np.float64), np.array(mx, np.float64),
                np.array(sm, np.float64), np.array(c, np.int64), np.array(an, np.int64),
            )
        )
    raw_ts, raw_values = _raw_columns(rows)
    if raw_ts:
        ts, values = raw_ts[0], raw_values[0]
        keep = (ts >= start) & (ts <= end)
        recent = Buckets.from_points(*codec.sort_points(ts[keep], values[keep]), tier.resolution_ms)
        # A bucket's points are all in range; only its label may start before ``start``.
        recent.ts = np.maximum(recent.ts, start)
        return Buckets.concat([Buckets.concat(parts).within(start, end), recent])
    return Buckets.concat(parts).within(start, end)


def downsample(
    ts: np.ndarray, values: np.ndarray, start: int, end: int, max_points: int
) -> list[list[float]]:
    """``[ts, value]`` per point when they fit, else ``[bucket_start, mean, min, max]`` per
    non-empty bucket of equal width."""
    if ts.size <= max_points:
        return [[int(t), float(v)] for t, v in zip(ts, values, strict=True)]
    width = bucket_width(start, end, max_points)
    return Buckets.from_points(ts, values, width, start).as_points()
