"""The compactor: closed windows become chunks and rollups, exactly once, atomically."""

from __future__ import annotations

import asyncpg
import numpy as np
import pytest

from hostpulse.hub.settings import Settings
from hostpulse.hub.storage import codec
from hostpulse.hub.storage.compactor import MAINTENANCE_LOCK, Compactor
from hostpulse.hub.storage.database import connection, dialect
from hostpulse.hub.storage.history import read_points
from hostpulse.hub.storage.rollups import decode_buckets
from tests.hub.storage.feed import T0, Feed

HOUR = 3_600_000
SETTINGS = Settings(chunk_window_s=7200, compact_delay_s=600)


def day_values(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.round(50 + np.cumsum(rng.normal(0, 1, n)), 2)


async def rows(table: str, order: str = "id") -> list[dict]:
    return await connection().execute_query_dict(f"SELECT * FROM {table} ORDER BY {order}")


async def fill(feed: Feed, seconds: int, metric: str = "cpu.percent") -> tuple[int, np.ndarray, np.ndarray]:
    sid = await feed.series(metric, cpu="total")
    ts = T0 + np.arange(seconds, dtype=np.int64) * 1000
    values = day_values(seconds, seed=sid)
    await feed.write_series(sid, ts, values, per_batch=60)
    return sid, ts, values


async def test_closed_windows_become_chunks_and_the_open_one_stays_raw(db: str) -> None:
    async with Feed() as feed:
        sid, ts, values = await fill(feed, 3 * 3600)
    compactor = Compactor(SETTINGS)
    now = T0 + 3 * HOUR  # window [T0, T0+2h) closed; [T0+2h, T0+4h) open
    report = await compactor.run_once(now)
    assert report is not None and report.chunks == 1 and report.samples == 7200
    chunks = await rows("chunks")
    assert [(c["series_id"], c["t_start"], c["t_end"], c["count"]) for c in chunks] == [
        (sid, T0, T0 + 2 * HOUR, 7200)
    ]
    chunk_ts, chunk_values = codec.decode_chunk(bytes(chunks[0]["data"]))
    assert np.array_equal(chunk_ts, ts[:7200]) and np.array_equal(chunk_values, values[:7200])
    assert all(b["t_min"] >= T0 + 2 * HOUR for b in await rows("raw_blocks"))
    back_ts, back_values = await read_points(sid, T0, T0 + 3 * HOUR)
    assert np.array_equal(back_ts, ts) and np.array_equal(back_values, values)


async def test_rollups_hold_min_max_sum_count_per_minute_and_hour(db: str) -> None:
    async with Feed() as feed:
        _, _, values = await fill(feed, 2 * 3600)
    await Compactor(SETTINGS).run_once(T0 + 3 * HOUR)
    minutes = decode_buckets(bytes((await rows("rollups_1m"))[0]["data"]))
    per_minute = values.reshape(120, 60)
    assert np.array_equal(minutes.ts, T0 + np.arange(120) * 60_000)
    assert np.array_equal(minutes.min, per_minute.min(axis=1))
    assert np.array_equal(minutes.max, per_minute.max(axis=1))
    assert np.allclose(minutes.sum, per_minute.sum(axis=1), rtol=0, atol=1e-9)
    assert set(minutes.count.tolist()) == {60} and set(minutes.anomalies.tolist()) == {0}
    hours = await rows("rollups_1h", "ts")
    assert [(h["ts"], h["count"], h["anomaly_count"]) for h in hours] == [(T0, 3600, 0), (T0 + HOUR, 3600, 0)]
    assert [h["max"] for h in hours] == values.reshape(2, 3600).max(axis=1).tolist()
    assert [h["min"] for h in hours] == values.reshape(2, 3600).min(axis=1).tolist()


async def test_a_second_run_changes_nothing(db: str) -> None:
    async with Feed() as feed:
        await fill(feed, 3 * 3600)
    compactor = Compactor(SETTINGS)
    await compactor.run_once(T0 + 3 * HOUR)
    before = {t: await rows(t) for t in ("chunks", "rollups_1m", "rollups_1h", "raw_blocks")}
    assert compactor.stats.runs == 1 and compactor.lag_seconds(compactor.stats.last_success + 5) == 5
    report = await compactor.run_once(T0 + 3 * HOUR)
    assert report is not None and report.chunks == 0 and report.blocks == 0
    assert {t: await rows(t) for t in before} == before


async def test_a_late_batch_is_merged_into_its_window(db: str) -> None:
    async with Feed() as feed:
        sid, ts, values = await fill(feed, 2 * 3600)
        await Compactor(SETTINGS).run_once(T0 + 3 * HOUR)
        # A retry from a spool: a point between two stored ones, and one equal in time to another.
        late_ts = np.array([ts[10] + 500, ts[20]], dtype=np.int64)
        late_values = np.array([1000.0, -5.0])
        await feed.write({sid: (late_ts, late_values)})
    await Compactor(SETTINGS).run_once(T0 + 3 * HOUR)
    chunks = await rows("chunks")
    assert len(chunks) == 1 and chunks[0]["count"] == 7202
    want_ts = np.concatenate((ts, late_ts))
    want_values = np.concatenate((values, late_values))
    want_ts, want_values = codec.sort_points(want_ts, want_values)
    back_ts, back_values = await read_points(sid, T0, T0 + 2 * HOUR)
    assert np.array_equal(back_ts, want_ts) and np.array_equal(back_values, want_values)
    hours = await rows("rollups_1h", "ts")
    assert [h["count"] for h in hours] == [3602, 3600] and hours[0]["max"] == 1000.0
    minutes = decode_buckets(bytes((await rows("rollups_1m"))[0]["data"]))
    assert int(minutes.count.sum()) == 7202 and minutes.min[0] == -5.0


async def test_a_failed_compaction_leaves_the_raw_blocks_and_writes_nothing(db: str) -> None:
    async with Feed() as feed:
        sid, ts, values = await fill(feed, 2 * 3600)
    blocks_before = await rows("raw_blocks")
    # The last insert of the transaction fails, after the chunk and 1-minute rows were written.
    await connection().execute_script("ALTER TABLE rollups_1h RENAME TO rollups_1h_away")
    with pytest.raises(Exception):  # noqa: B017 - whatever the driver raises for a missing table
        await Compactor(SETTINGS).run_once(T0 + 3 * HOUR)
    await connection().execute_script("ALTER TABLE rollups_1h_away RENAME TO rollups_1h")
    assert await rows("chunks") == [] and await rows("rollups_1m") == []
    assert await rows("raw_blocks") == blocks_before
    report = await Compactor(SETTINGS).run_once(T0 + 3 * HOUR)
    assert report is not None and report.chunks == 1
    back_ts, back_values = await read_points(sid, T0, T0 + 2 * HOUR)
    assert np.array_equal(back_ts, ts) and np.array_equal(back_values, values)


async def test_retention_drops_each_tier_at_its_own_horizon(db: str) -> None:
    async with Feed() as feed:
        await fill(feed, 2 * 3600)
    settings = Settings(retain_raw_days=1, retain_1m_days=3, retain_1h_days=5, max_past_s=86400,
                        max_future_s=600)
    compactor = Compactor(settings)
    await compactor.run_once(T0 + 3 * HOUR)
    assert await _counts() == {"chunks": 1, "rollups_1m": 1, "rollups_1h": 2, "ingested_batches": 120}
    day = 24 * HOUR
    report = await compactor.run_once(T0 + 2 * HOUR + day + 1)
    assert report is not None and report.deleted == {
        "raw_blocks": 0, "chunks": 1, "rollups_1m": 0, "rollups_1h": 0, "anomalies": 0,
        "alert_history": 0, "alert_outbox": 0, "ingested_batches": 120,
    }
    await compactor.run_once(T0 + 2 * HOUR + 3 * day + 1)
    assert await _counts() == {"chunks": 0, "rollups_1m": 0, "rollups_1h": 2, "ingested_batches": 0}
    await compactor.run_once(T0 + 2 * HOUR + 5 * day + 1)
    assert (await _counts())["rollups_1h"] == 0


TABLES = ("chunks", "rollups_1m", "rollups_1h", "ingested_batches")


async def _counts() -> dict[str, int]:
    return {t: len(await rows(t, "1")) for t in TABLES}


def test_a_window_that_is_not_whole_hours_is_refused() -> None:
    from hostpulse.hub.errors import SettingsError

    with pytest.raises(SettingsError, match="chunk_window_s"):
        Compactor(Settings(chunk_window_s=5400))


async def test_on_postgres_a_second_hub_skips_while_one_holds_the_lock(db: str) -> None:
    if dialect() != "postgres":
        pytest.skip("advisory locks are PostgreSQL's; on SQLite one hub per file is assumed")
    other = await asyncpg.connect(db.replace("postgres://", "postgresql://"))
    try:
        assert await other.fetchval("SELECT pg_try_advisory_lock($1)", MAINTENANCE_LOCK)
        compactor = Compactor(SETTINGS)
        assert await compactor.run_once(T0 + 3 * HOUR) is None
        assert compactor.stats.skipped == 1
        await other.execute("SELECT pg_advisory_unlock($1)", MAINTENANCE_LOCK)
        assert await compactor.run_once(T0 + 3 * HOUR) is not None
    finally:
        await other.close()


async def test_anomalies_are_stored_with_their_batch_and_counted_once_into_rollups(db: str) -> None:
    async with Feed() as feed:
        sid, ts, _values = await fill(feed, 2 * 3600)
        flagged = [int(ts[5]), int(ts[30]), int(ts[4000])]  # minute 0 twice, then hour 1
        await feed.write(
            {sid: (np.array([ts[5] + 1]), np.array([77.0]))},
            anomalies=[(sid, t, 77.0, 0.9, 40.0, 60.0, "robust") for t in flagged],
        )
        await Compactor(SETTINGS).run_once(T0 + 3 * HOUR)
        stored = await rows("anomalies", "ts")
        assert [(a["ts"], a["score"], a["detector"]) for a in stored] == [(t, 0.9, "robust") for t in flagged]
        # A late batch into the same window: the merge recounts, it does not add the counts up.
        await feed.write({sid: (np.array([ts[6] + 1]), np.array([1.0]))})
    await Compactor(SETTINGS).run_once(T0 + 3 * HOUR)
    minutes = decode_buckets(bytes((await rows("rollups_1m"))[0]["data"]))
    assert minutes.anomalies[0] == 2 and minutes.anomalies[66] == 1 and int(minutes.anomalies.sum()) == 3
    hours = await rows("rollups_1h", "ts")
    assert [h["anomaly_count"] for h in hours] == [2, 1]
    assert [h["count"] for h in hours] == [3602, 3600]
