"""The compactor: closed windows of raw blocks become compressed chunks and rollups.

A window of ``chunk_window_s`` is closed ``compact_delay_s`` after it ends. For each series with
raw blocks entirely inside closed windows, one transaction writes the window's chunk (merged with
the chunk already there, when a late batch arrived after the first compaction), merges the
1-minute and 1-hour rollups, and deletes exactly the raw blocks it read, by id. A crash before the
commit leaves the raw blocks in place and the next run does the same work again; a crash after it
leaves nothing to redo. Running twice is a no-op, so the task is idempotent.

Blocks are read outside the write transaction, which is safe because only the compactor changes
chunks and rollups and raw blocks never change once written: on PostgreSQL an advisory lock makes
sure one hub of many compacts at a time; on SQLite one hub per database file is assumed.
The history reader sees either the raw blocks or the chunk that replaced them, never both and
never neither, because it reads both in one SQL statement.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import numpy as np
from tortoise.transactions import in_transaction

from hub.errors import SettingsError
from hub.settings import Settings
from hub.storage import codec
from hub.storage.database import connection
from hub.storage.retention import apply_retention
from hub.storage.rollups import HOUR_MS, MINUTE_MS, Buckets, decode_buckets, encode_buckets
from hub.storage.sql import placeholders

log = logging.getLogger(__name__)

#: pg advisory lock key of maintenance (compaction and retention): "HP" then 2.
MAINTENANCE_LOCK = 0x4850_0002
_ID_BATCH = 500


@dataclass(slots=True)
class CompactorStats:
    runs: int = 0
    skipped: int = 0  # runs another hub held the lock for
    series: int = 0
    chunks: int = 0
    blocks: int = 0
    samples: int = 0
    last_run_seconds: float = 0.0
    #: Wall-clock epoch seconds at the end of the last successful run (0: none yet).
    last_success: float = 0.0
    #: Raw blocks left in closed windows after the last run (the compaction backlog).
    backlog_blocks: int = 0


@dataclass(slots=True)
class Report:
    series: int = 0
    chunks: int = 0
    blocks: int = 0
    samples: int = 0
    deleted: dict[str, int] | None = None


class Compactor:
    """Compaction and retention; :meth:`start` runs them every ``compact_interval_s``."""

    def __init__(self, settings: Settings) -> None:
        if settings.chunk_window_s <= 0 or settings.chunk_window_s % 3600:
            raise SettingsError(
                "hub.chunk_window_s", settings.chunk_window_s, "a whole number of hours in seconds"
            )
        self.settings = settings
        self.window_ms = int(settings.chunk_window_s) * 1000
        self.stats = CompactorStats()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.settings.compact_interval_s > 0:
            self._task = asyncio.create_task(self._loop(), name="hostpulse-compactor")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # the database said no this time; the next run retries
                log.exception("compaction failed")
            await asyncio.sleep(self.settings.compact_interval_s)

    def horizon(self, now_ms: int) -> int:
        """Everything before this epoch ms lies in closed windows."""
        closed = now_ms - int(self.settings.compact_delay_s * 1000)
        return closed // self.window_ms * self.window_ms

    async def run_once(self, now_ms: int | None = None) -> Report | None:
        """Compact every closed window, then apply retention. None when another hub holds the
        maintenance lock."""
        now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        started = time.perf_counter()
        async with _maintenance_lock() as held:
            if not held:
                self.stats.skipped += 1
                return None
            report = await self.compact(self.horizon(now_ms), now_ms)
            report.deleted = await apply_retention(self.settings, now_ms)
        self.stats.runs += 1
        self.stats.last_run_seconds = time.perf_counter() - started
        self.stats.last_success = time.time()
        return report

    async def compact(self, horizon: int, now_ms: int) -> Report:
        """Fold every raw block with ``t_max < horizon`` into chunks and rollups."""
        conn = connection()
        dialect = conn.capabilities.dialect
        rows = await conn.execute_query_dict(
            placeholders(
                dialect, "SELECT DISTINCT series_id FROM raw_blocks WHERE t_max < ? ORDER BY series_id"
            ),
            [horizon],
        )
        raw_cutoff = now_ms - int(self.settings.retain_raw_days * 86_400_000)
        report = Report()
        for row in rows:
            blocks, samples, chunks = await self._compact_series(
                int(row["series_id"]), horizon, raw_cutoff
            )
            report.series += 1
            report.blocks += blocks
            report.samples += samples
            report.chunks += chunks
        self.stats.series += report.series
        self.stats.chunks += report.chunks
        self.stats.blocks += report.blocks
        self.stats.samples += report.samples
        self.stats.backlog_blocks = 0
        return report

    async def _compact_series(
        self, series_id: int, horizon: int, raw_cutoff: int
    ) -> tuple[int, int, int]:
        conn = connection()
        dialect = conn.capabilities.dialect
        q = lambda sql: placeholders(dialect, sql)
        blocks = await conn.execute_query_dict(
            q('SELECT id, ts, "values" FROM raw_blocks WHERE series_id = ? AND t_max < ? ORDER BY id'),
            [series_id, horizon],
        )
        if not blocks:
            return 0, 0, 0
        ids = [int(b["id"]) for b in blocks]
        ts = np.concatenate([np.frombuffer(b["ts"], dtype="<i8") for b in blocks])
        values = np.concatenate([np.frombuffer(b["values"], dtype="<f8") for b in blocks])
        ts, values = codec.sort_points(ts, values)
        window_of = ts // self.window_ms * self.window_ms
        windows = np.unique(window_of).tolist()
        existing = await self._existing(series_id, windows)
        chunk_rows, minute_rows, hour_rows = [], [], []
        for window in windows:
            lo, hi = np.searchsorted(window_of, [window, window + 1])
            new_ts, new_values = ts[lo:hi], values[lo:hi]
            old = existing["chunks"].get(window)
            if old is not None:  # a late batch: merge with the points already compacted
                old_ts, old_values = codec.decode_chunk(old)
                new_chunk = codec.sort_points(
                    np.concatenate((old_ts, new_ts)), np.concatenate((old_values, new_values))
                )
            else:
                new_chunk = (new_ts, new_values)
            if window + self.window_ms > raw_cutoff:  # a chunk retention would drop at once is not written
                cts, cvalues = new_chunk
                chunk_rows.append(
                    [series_id, window, window + self.window_ms, int(cts[0]), int(cts[-1]),
                     int(cts.size), codec.encode_chunk(cts, cvalues)]
                )
            # Rollups merge with what is there, so they stay right even where the raw tier of
            # the window has already been dropped by retention.
            minutes = Buckets.from_points(new_ts, new_values, MINUTE_MS, exact=True)
            if window in existing["minutes"]:
                minutes = Buckets.concat([existing["minutes"][window], minutes]).regroup(MINUTE_MS)
            minute_rows.append(
                [series_id, window, window + self.window_ms, len(minutes), encode_buckets(minutes)]
            )
            hours = Buckets.from_points(new_ts, new_values, HOUR_MS, exact=True)
            hours = Buckets.concat([existing["hours"].within(window, window + self.window_ms - 1), hours])
            hours = hours.regroup(HOUR_MS)
            hour_rows += [
                [series_id, int(t), float(lo_), float(hi_), float(s), int(c), int(a)]
                for t, lo_, hi_, s, c, a in zip(
                    hours.ts, hours.min, hours.max, hours.sum, hours.count, hours.anomalies, strict=True
                )
            ]
        async with in_transaction() as tx:
            marks = ", ".join("?" * len(windows))
            for table in ("chunks", "rollups_1m"):
                await tx.execute_query(
                    q(f"DELETE FROM {table} WHERE series_id = ? AND t_start IN ({marks})"),
                    [series_id, *windows],
                )
            await tx.execute_query(
                q("DELETE FROM rollups_1h WHERE series_id = ? AND ts >= ? AND ts < ?"),
                [series_id, windows[0], windows[-1] + self.window_ms],
            )
            if chunk_rows:
                await tx.execute_many(
                    q("INSERT INTO chunks (series_id, t_start, t_end, t_min, t_max, count, data) "
                      "VALUES (?, ?, ?, ?, ?, ?, ?)"),
                    chunk_rows,
                )
            await tx.execute_many(
                q("INSERT INTO rollups_1m (series_id, t_start, t_end, count, data) VALUES (?, ?, ?, ?, ?)"),
                minute_rows,
            )
            await tx.execute_many(
                q("INSERT INTO rollups_1h (series_id, ts, min, max, sum, count, anomaly_count) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?)"),
                hour_rows,
            )
            for i in range(0, len(ids), _ID_BATCH):
                part = ids[i : i + _ID_BATCH]
                await tx.execute_query(
                    q(f"DELETE FROM raw_blocks WHERE id IN ({', '.join('?' * len(part))})"), part
                )
        return len(ids), int(ts.size), len(chunk_rows)

    async def _existing(self, series_id: int, windows: list[int]) -> dict:
        """The chunks, 1-minute and 1-hour rollups already written for these windows."""
        conn = connection()
        dialect = conn.capabilities.dialect
        marks = ", ".join("?" * len(windows))
        chunks = await conn.execute_query_dict(
            placeholders(dialect, f"SELECT t_start, data FROM chunks WHERE series_id = ? AND t_start IN ({marks})"),
            [series_id, *windows],
        )
        minutes = await conn.execute_query_dict(
            placeholders(dialect, f"SELECT t_start, data FROM rollups_1m WHERE series_id = ? AND t_start IN ({marks})"),
            [series_id, *windows],
        )
        hours = await conn.execute_query_dict(
            placeholders(
                dialect,
                "SELECT ts, min, max, sum, count, anomaly_count FROM rollups_1h "
                "WHERE series_id = ? AND ts >= ? AND ts < ? ORDER BY ts",
            ),
            [series_id, windows[0], windows[-1] + self.window_ms],
        )
        return {
            "chunks": {int(r["t_start"]): bytes(r["data"]) for r in chunks},
            "minutes": {int(r["t_start"]): decode_buckets(bytes(r["data"])) for r in minutes},
            "hours": _hour_buckets(hours),
        }


def _hour_buckets(rows: list[dict]) -> Buckets:
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


@contextlib.asynccontextmanager
async def _maintenance_lock() -> AsyncIterator[bool]:
    """On PostgreSQL, a session advisory lock held on one pooled connection for the whole run,
    so with several hubs on one database maintenance runs exactly once at a time."""
    conn = connection()
    if conn.capabilities.dialect != "postgres":
        yield True
        return
    async with conn.acquire_connection() as raw:
        held = await raw.fetchval("SELECT pg_try_advisory_lock($1)", MAINTENANCE_LOCK)
        try:
            yield bool(held)
        finally:
            if held:
                await raw.execute("SELECT pg_advisory_unlock($1)", MAINTENANCE_LOCK)
