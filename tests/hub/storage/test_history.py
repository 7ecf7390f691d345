"""History: the tier follows the range, raw/chunk/rollup data reads as one timeline, spikes survive."""

from __future__ import annotations

import asyncio
import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hostpulse.hub.settings import Settings
from hostpulse.hub.storage.codec import sort_points
from hostpulse.hub.storage.compactor import Compactor
from hostpulse.hub.storage.database import close_database, connection, dialect, open_database
from hostpulse.hub.storage.history import HOUR, MINUTE, RAW, choose_tier, read_history, read_points
from hostpulse.hub.storage.sql import placeholders
from tests.hub.storage.feed import T0, Feed

H = 3_600_000
DAY = 24 * H
SETTINGS = Settings(chunk_window_s=7200, compact_delay_s=600)


@pytest.mark.parametrize(
    ("span", "max_points", "ago", "tier"),
    [
        (H, 1000, 0, RAW),  # 3.6 s buckets
        (12 * H, 1000, 0, RAW),  # 43 s buckets: still finer than a minute
        (DAY, 1000, 0, MINUTE),  # 86 s buckets
        (30 * DAY, 1000, 0, MINUTE),  # 43 min buckets
        (30 * DAY, 100, 0, HOUR),  # 7.2 h buckets
        (H, 1000, 20 * DAY, MINUTE),  # raw kept 14 days: the 1-minute tier answers
        (H, 1000, 100 * DAY, HOUR),  # 1-minute kept 90 days: the hourly tier answers
    ],
)
def test_the_tier_follows_bucket_width_and_retention(span: int, max_points: int, ago: int, tier) -> None:
    now = T0 + 200 * DAY
    end = now - ago
    assert choose_tier(end - span, end, max_points, Settings(), now) is tier


async def test_a_spike_survives_zooming_out_to_a_day(db: str) -> None:
    seconds = 6 * 3600
    ts = T0 + np.arange(seconds, dtype=np.int64) * 1000
    values = np.full(seconds, 10.0)
    values[12_345] = 99.5  # one second of 99.5 in a flat six hours
    async with Feed() as feed:
        sid = await feed.series("cpu.percent")
        await feed.write_series(sid, ts, values, per_batch=600)
    now = T0 + 5 * H  # windows up to T0+4h closed; the rest is raw, read alongside
    await Compactor(SETTINGS).run_once(now)
    cases = [(DAY, 1000, MINUTE), (30 * DAY, 200, HOUR), (seconds * 1000, 200, MINUTE),
             (seconds * 1000, 2000, RAW)]
    for span, max_points, tier in cases:
        got, points = await read_history(sid, T0, T0 + span - 1, max_points, SETTINGS, now)
        assert got is tier
        assert 0 < len(points) <= max_points
        assert all(len(p) == 4 for p in points)
        assert max(p[3] for p in points) == 99.5
        assert min(p[2] for p in points) == 10.0
        spike = [p for p in points if p[3] == 99.5]
        # A rollup bucket holds the minutes (hours) that start in it: the spike's minute (hour).
        at = int(ts[12_345]) - (int(ts[12_345]) - T0) % max(tier.resolution_ms, 1)
        assert len(spike) == 1 and spike[0][0] <= at < spike[0][0] + -(-span // max_points)
        assert 10.0 < spike[0][1] < 99.5  # the mean of its bucket


async def test_bucket_counts_add_up_across_chunks_rollups_and_raw_blocks(db: str) -> None:
    seconds = 5 * 3600
    ts = T0 + np.arange(seconds, dtype=np.int64) * 1000
    values = np.round(np.sin(np.arange(seconds) / 300) * 40 + 50, 2)
    async with Feed() as feed:
        sid = await feed.series("cpu.percent")
        await feed.write_series(sid, ts, values, per_batch=300)
    now = T0 + 3 * H  # [T0, T0+2h) compacted; 3 hours still raw
    await Compactor(SETTINGS).run_once(now)
    end = T0 + seconds * 1000 - 1
    for max_points in (150, 300, 1000, 5000, 20_000):
        tier, points = await read_history(sid, T0, end, max_points, SETTINGS, now)
        assert len(points) <= max_points
        raw_ts, _raw_values = await read_points(sid, T0, end)
        assert raw_ts.size == seconds
        if tier is RAW and seconds <= max_points:
            assert points == [[int(t), float(v)] for t, v in zip(ts, values, strict=True)]
            continue
        assert all(len(p) == 4 for p in points)
        # Every bucket's [min, max] holds the raw points that fall into it.
        width = -(-(end - T0 + 1) // max_points)
        starts = np.array([p[0] for p in points])
        for p in points[:: max(1, len(points) // 20)]:
            inside = values[(ts >= p[0]) & (ts < p[0] + width)]
            if tier is RAW:
                assert inside.min() == p[2] and inside.max() == p[3]
            else:  # rollup buckets are whole minutes: a bucket holds the minutes that start in it
                assert p[2] <= inside.max() and p[3] >= inside.min()
        assert np.all(np.diff(starts) > 0)


async def test_points_before_from_and_after_to_are_left_out(db: str) -> None:
    ts = T0 + np.arange(3 * 3600, dtype=np.int64) * 1000
    async with Feed() as feed:
        sid = await feed.series("mem.used")
        await feed.write_series(sid, ts, ts.astype(np.float64), per_batch=1000)
    await Compactor(SETTINGS).run_once(T0 + 3 * H)
    lo, hi = T0 + 7_000_500, T0 + 7_300_000  # across the chunk/raw boundary at T0 + 2h
    got_ts, got_values = await read_points(sid, lo, hi)
    want = ts[(ts >= lo) & (ts <= hi)]
    assert np.array_equal(got_ts, want) and np.array_equal(got_values, want.astype(np.float64))


# The property: whatever the points and however they are batched, compaction changes nothing
# a reader can see. Sync test around asyncio.run, so hypothesis drives examples itself; each
# example uses a fresh series in the same database.

times = st.lists(st.integers(0, 5 * 3600 * 1000), min_size=1, max_size=300)
floats = st.floats(allow_nan=False, allow_infinity=False, width=64)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), offsets=times, sort=st.booleans())
def test_ingest_then_compaction_then_query_gives_the_same_values(
    db_url: str, data: st.DataObject, offsets: list[int], sort: bool
) -> None:
    values = data.draw(st.lists(floats, min_size=len(offsets), max_size=len(offsets)))
    cuts = sorted(set(data.draw(st.lists(st.integers(1, len(offsets)), max_size=8))))
    # Batches from this one on arrive after a first compaction: late data merged into chunks.
    late = data.draw(st.integers(0, len(cuts) + 1))
    if sort:
        offsets = sorted(offsets)
    asyncio.run(_round_trip(db_url, np.array(offsets, np.int64) + T0, np.array(values), cuts, late))


CLOSED = T0 + 4 * H  # compacting at CLOSED + delay closes the windows [T0, T0+2h), [T0+2h, T0+4h)


async def _round_trip(
    db_url: str, ts: np.ndarray, values: np.ndarray, cuts: list[int], late: int
) -> None:
    await open_database(db_url)
    try:
        compactor = Compactor(SETTINGS)
        async with Feed() as feed:
            sid = await feed.series("prop.value", run=str(np.random.default_rng().integers(1 << 62)))
            bounds = [0, *cuts, ts.size]
            for i, (lo, hi) in enumerate(itertools.pairwise(bounds)):
                if i == late:
                    await compactor.run_once(CLOSED + 600_000)
                if hi > lo:
                    await feed.write({sid: (ts[lo:hi], values[lo:hi])})
        want_ts, want_values = sort_points(ts, values)
        assert sorted(zip(want_ts.tolist(), want_values.tolist(), strict=True)) == sorted(
            zip(ts.tolist(), values.tolist(), strict=True)
        )
        end = T0 + 6 * H
        before = await read_points(sid, T0, end)
        assert await compactor.run_once(CLOSED + 600_000) is not None
        after = await read_points(sid, T0, end)
        for got_ts, got_values in (before, after):
            assert np.array_equal(got_ts, want_ts)
            assert np.array_equal(got_values.view(np.int64), want_values.view(np.int64))
        # The rollups count every compacted point exactly once, however the batches fell. (A
        # batch reaching into a window still open stays raw whole until that window closes.)
        compacted = sum(hi - lo for lo, hi in itertools.pairwise(bounds) if hi > lo and ts[lo:hi].max() < CLOSED)
        rows = await connection().execute_query_dict(
            placeholders(dialect(), "SELECT SUM(count) AS n FROM rollups_1h WHERE series_id = ?"),
            [sid],
        )
        assert int(rows[0]["n"] or 0) == compacted
        _, buckets = await read_history(sid, T0, end, 10, SETTINGS, T0 + 5 * H)
        if ts.size > 10:
            assert len(buckets) <= 10
            assert min(b[2] for b in buckets) == values.min()
            assert max(b[3] for b in buckets) == values.max()
    finally:
        await close_database()
