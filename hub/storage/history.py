"""Reading a series back: the points in [from, to], reduced to at most ``max_points`` buckets
that keep each bucket's min and max, so a spike survives zooming out."""

from __future__ import annotations

import numpy as np

from hub.storage.models import RawBlock


async def read_points(series_id: int, start: int, end: int) -> tuple[np.ndarray, np.ndarray]:
    """All stored points of a series with start <= ts <= end, sorted by time."""
    rows = await RawBlock.filter(series_id=series_id, t_max__gte=start, t_min__lte=end).values_list(
        "ts", "values"
    )
    if not rows:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64)
    ts = np.concatenate([np.frombuffer(t, dtype="<i8") for t, _ in rows])
    values = np.concatenate([np.frombuffer(v, dtype="<f8") for _, v in rows])
    keep = (ts >= start) & (ts <= end)
    ts, values = ts[keep], values[keep]
    order = np.argsort(ts, kind="stable")
    return ts[order], values[order]


def downsample(
    ts: np.ndarray, values: np.ndarray, start: int, end: int, max_points: int
) -> list[list[float]]:
    """``[ts, value]`` per point when they fit, else ``[bucket_start, mean, min, max]`` per
    non-empty bucket of equal width."""
    if ts.size <= max_points:
        return [[int(t), float(v)] for t, v in zip(ts, values, strict=True)]
    width = max(1, -(-(end - start + 1) // max_points))
    bucket = (ts - start) // width
    edges = np.flatnonzero(np.diff(bucket)) + 1
    starts = np.concatenate(([0], edges))
    sums = np.add.reduceat(values, starts)
    counts = np.diff(np.concatenate((starts, [ts.size])))
    mins = np.minimum.reduceat(values, starts)
    maxs = np.maximum.reduceat(values, starts)
    firsts = start + bucket[starts] * width
    return [
        [int(t), float(s / c), float(lo), float(hi)]
        for t, s, c, lo, hi in zip(firsts, sums, counts, mins, maxs, strict=True)
    ]
