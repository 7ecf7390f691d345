"""Folding one series' closed raw blocks into the rows of its windows: a chunk, a packed
1-minute rollup and 1-hour rollups per window, merged with what earlier runs wrote there.

Reading and computing happen here, outside any transaction (only the compactor writes chunks and
rollups, and raw blocks never change once written); :mod:`hostpulse.hub.storage.compactor` then commits the
rows of several series at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hostpulse.hub.storage import codec
from hostpulse.hub.storage.database import connection
from hostpulse.hub.storage.rollups import (
    HOUR_MS,
    MINUTE_MS,
    Buckets,
    decode_buckets,
    encode_buckets,
)
from hostpulse.hub.storage.sql import placeholders


@dataclass(slots=True)
class Folded:
    """What replaces one series' closed raw blocks."""

    series_id: int
    block_ids: list[int]
    samples: int
    windows: list[int] = field(default_factory=list)  # window starts, ascending
    chunks: list[list[object]] = field(default_factory=list)
    minutes: list[list[object]] = field(default_factory=list)
    hours: list[list[object]] = field(default_factory=list)


async def fold_series(series_id: int, horizon: int, window_ms: int, raw_cutoff: int) -> Folded:
    """Read the series' raw blocks with ``t_max < horizon`` and build its windows' new rows.

    A window whose chunk exists already (a late batch after the first compaction) gets the old
    points merged in; rollups always merge with the rows already there, so they stay right even
    where retention has dropped the window's raw tier (``raw_cutoff``), for which no chunk is
    written."""
    conn = connection()
    dialect = conn.capabilities.dialect
    # execute_query, not _dict: rows by position, no dict per block (a day is 43,200 blocks).
    _, blocks = await conn.execute_query(
        placeholders(
            dialect,
            'SELECT id, ts, "values" FROM raw_blocks WHERE series_id = ? AND t_max < ? ORDER BY id',
        ),
        [series_id, horizon],
    )
    if not blocks:
        return Folded(series_id, [], 0)
    # One join and one frombuffer per column rather than two numpy calls per block.
    ts, values = codec.sort_points(
        np.frombuffer(b"".join(b[1] for b in blocks), dtype="<i8"),
        np.frombuffer(b"".join(b[2] for b in blocks), dtype="<f8"),
    )
    window_of = ts // window_ms * window_ms
    windows = np.unique(window_of).tolist()
    folded = Folded(series_id, [int(b[0]) for b in blocks], int(ts.size), windows)
    old_chunks, old_minutes, old_hours = await _existing(series_id, windows, window_ms)
    flagged = await _anomaly_times(series_id, windows[0], windows[-1] + window_ms)
    for window in windows:
        lo, hi = np.searchsorted(window_of, [window, window + 1])
        new_ts, new_values = ts[lo:hi], values[lo:hi]
        end = window + window_ms
        if end > raw_cutoff:
            chunk_ts, chunk_values = new_ts, new_values
            if window in old_chunks:
                old_ts, old_values = codec.decode_chunk(old_chunks[window])
                chunk_ts, chunk_values = codec.sort_points(
                    np.concatenate((old_ts, new_ts)), np.concatenate((old_values, new_values))
                )
            folded.chunks.append(
                [series_id, window, end, int(chunk_ts[0]), int(chunk_ts[-1]), int(chunk_ts.size),
                 codec.encode_chunk(chunk_ts, chunk_values)]
            )
        minutes = Buckets.from_points(new_ts, new_values, MINUTE_MS, exact=True)
        if window in old_minutes:
            minutes = Buckets.concat([old_minutes[window], minutes]).regroup(MINUTE_MS)
        _count_anomalies(minutes, flagged, MINUTE_MS)
        folded.minutes.append([series_id, window, end, len(minutes), encode_buckets(minutes)])
        hours = Buckets.from_points(new_ts, new_values, HOUR_MS, exact=True)
        hours = Buckets.concat([old_hours.within(window, end - 1), hours]).regroup(HOUR_MS)
        _count_anomalies(hours, flagged, HOUR_MS)
        folded.hours += [
            [series_id, int(t), float(low), float(high), float(s), int(c), int(a)]
            for t, low, high, s, c, a in zip(
                hours.ts, hours.min, hours.max, hours.sum, hours.count, hours.anomalies, strict=True
            )
        ]
    return folded


async def _anomaly_times(series_id: int, start: int, end: int) -> np.ndarray:
    conn = connection()
    rows = await conn.execute_query_dict(
        placeholders(
            conn.capabilities.dialect,
            "SELECT ts FROM anomalies WHERE series_id = ? AND ts >= ? AND ts < ?",
        ),
        [series_id, start, end],
    )
    return np.array([r["ts"] for r in rows], dtype=np.int64)


def _count_anomalies(buckets: Buckets, flagged: np.ndarray, width: int) -> None:
    """Set each bucket's anomaly count from the anomalies table: recounted at every fold rather
    than added up, so merging a late batch into a window never counts an anomaly twice."""
    buckets.anomalies = np.zeros(len(buckets), np.int64)
    if not flagged.size or not len(buckets):
        return
    slot = np.searchsorted(buckets.ts, flagged // width * width)
    inside = slot < len(buckets)
    inside[inside] &= buckets.ts[slot[inside]] == (flagged[inside] // width * width)
    buckets.anomalies = np.bincount(slot[inside], minlength=len(buckets)).astype(np.int64)


async def _existing(
    series_id: int, windows: list[int], window_ms: int
) -> tuple[dict[int, bytes], dict[int, Buckets], Buckets]:
    """The chunks, 1-minute and 1-hour rollups already written for these windows."""
    conn = connection()
    dialect = conn.capabilities.dialect
    marks = ", ".join("?" * len(windows))
    chunks = await conn.execute_query_dict(
        placeholders(
            dialect, f"SELECT t_start, data FROM chunks WHERE series_id = ? AND t_start IN ({marks})"
        ),
        [series_id, *windows],
    )
    minutes = await conn.execute_query_dict(
        placeholders(
            dialect,
            f"SELECT t_start, data FROM rollups_1m WHERE series_id = ? AND t_start IN ({marks})",
        ),
        [series_id, *windows],
    )
    hours = await conn.execute_query_dict(
        placeholders(
            dialect,
            "SELECT ts, min, max, sum, count, anomaly_count FROM rollups_1h "
            "WHERE series_id = ? AND ts >= ? AND ts < ? ORDER BY ts",
        ),
        [series_id, windows[0], windows[-1] + window_ms],
    )
    return (
        {int(r["t_start"]): bytes(r["data"]) for r in chunks},
        {int(r["t_start"]): decode_buckets(bytes(r["data"])) for r in minutes},
        _hour_buckets(hours),
    )


def _hour_buckets(rows: list[dict[str, Any]]) -> Buckets:
    if not rows:
        return Buckets.empty()
    return Buckets(
        np.array([r["ts"] for r in rows], np.int64),
        np.array([r["min"] for r in rows], np.float64),
        np.array([r["max"] for r in rows], np.float64),
        np.array([r["sum"] for r in rows], np.float64),
        np.array([r["count"] for r in rows], np.int64),
        np.array([r["anomaly_count"] for r in rows], np.int64),
    )
