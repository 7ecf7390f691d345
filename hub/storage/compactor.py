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

from tortoise.transactions import in_transaction

from hostpulse.hub.errors import SettingsError
from hostpulse.hub.settings import Settings
from hostpulse.hub.storage.database import connection
from hostpulse.hub.storage.folding import Folded, fold_series
from hostpulse.hub.storage.retention import KeySweep, apply_retention
from hostpulse.hub.storage.sql import placeholders
from hostpulse.hub.tasks import cancel

log = logging.getLogger(__name__)

#: pg advisory lock key of maintenance (compaction and retention): "HP" then 2.
MAINTENANCE_LOCK = 0x4850_0002
_ID_BATCH = 900
#: Raw blocks per compaction transaction: large enough to share page rewrites across series,
#: small enough that the writer waits a fraction of a second at most.
GROUP_BLOCKS = 100_000
RETENTION_EVERY_MS = 3_600_000


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
        self._retained_at = -RETENTION_EVERY_MS
        self._keys = KeySweep()
        self._started = time.time()

    def start(self) -> None:
        if self.settings.compact_interval_s > 0:
            self._task = asyncio.create_task(self._loop(), name="hostpulse-compactor")

    async def stop(self) -> None:
        await cancel(self._task)
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

    def lag_seconds(self, now: float | None = None) -> float:
        """Seconds since the last successful run ended (since start before the first): the
        compaction lag /metrics can expose."""
        now = time.time() if now is None else now
        return max(0.0, now - (self.stats.last_success or self._started))

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
            # Retention is hourly: an hour more or less of old data does not matter, and each
            # pass costs an index seek per series and table.
            report.deleted = {}
            if now_ms - self._retained_at >= RETENTION_EVERY_MS:
                report.deleted = await apply_retention(self.settings, now_ms)
                self._retained_at = now_ms
            report.deleted["ingested_batches"] = await self._keys.step(self.settings, now_ms)
        self.stats.runs += 1
        self.stats.last_run_seconds = time.perf_counter() - started
        self.stats.last_success = time.time()
        return report

    async def compact(self, horizon: int, now_ms: int) -> Report:
        """Fold every raw block with ``t_max < horizon`` into chunks and rollups."""
        conn = connection()
        # One index seek per series on (series_id, t_max), not a scan of every raw block: the
        # open window can hold millions of blocks under load, and on SQLite this query holds
        # the connection the writer needs.
        rows = await conn.execute_query_dict(
            placeholders(
                conn.capabilities.dialect,
                "SELECT s.id AS series_id FROM series s WHERE EXISTS (SELECT 1 FROM raw_blocks r "
                "WHERE r.series_id = s.id AND r.t_max < ?) ORDER BY s.id",
            ),
            [horizon],
        )
        raw_cutoff = now_ms - int(self.settings.retain_raw_days * 86_400_000)
        report = Report()
        group: list[Folded] = []
        blocks = 0
        for row in rows:
            folded = await fold_series(int(row["series_id"]), horizon, self.window_ms, raw_cutoff)
            if folded.block_ids:
                group.append(folded)
                blocks += len(folded.block_ids)
            if blocks >= GROUP_BLOCKS:
                await _commit(group, self.window_ms, report)
                group, blocks = [], 0
        if group:
            await _commit(group, self.window_ms, report)
        self.stats.series += report.series
        self.stats.chunks += report.chunks
        self.stats.blocks += report.blocks
        self.stats.samples += report.samples
        return report


async def _commit(group: list[Folded], window_ms: int, report: Report) -> None:
    """One transaction: the group's new chunks and rollups in, exactly its raw blocks out.

    Series are grouped because a delete of raw blocks costs about a pass over the pages they
    share with every other series (one batch writes one block of each): per series, that pass
    was paid 77 times per host and window (bench/storage_bytes.py)."""
    async with in_transaction() as tx:
        dialect = tx.capabilities.dialect

        def q(sql: str) -> str:
            return placeholders(dialect, sql)

        for f in group:
            marks = ", ".join("?" * len(f.windows))
            for table in ("chunks", "rollups_1m"):
                await tx.execute_query(
                    q(f"DELETE FROM {table} WHERE series_id = ? AND t_start IN ({marks})"),
                    [f.series_id, *f.windows],
                )
            await tx.execute_query(
                q("DELETE FROM rollups_1h WHERE series_id = ? AND ts >= ? AND ts < ?"),
                [f.series_id, f.windows[0], f.windows[-1] + window_ms],
            )
        chunks = [row for f in group for row in f.chunks]
        if chunks:
            await tx.execute_many(
                q("INSERT INTO chunks (series_id, t_start, t_end, t_min, t_max, count, data) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?)"),
                chunks,
            )
        await tx.execute_many(
            q("INSERT INTO rollups_1m (series_id, t_start, t_end, count, data) "
              "VALUES (?, ?, ?, ?, ?)"),
            [row for f in group for row in f.minutes],
        )
        await tx.execute_many(
            q("INSERT INTO rollups_1h (series_id, ts, min, max, sum, count, anomaly_count) "
              "VALUES (?, ?, ?, ?, ?, ?, ?)"),
            [row for f in group for row in f.hours],
        )
        # In id order, so each page of raw blocks is visited once.
        ids = sorted(i for f in group for i in f.block_ids)
        if dialect == "postgres":
            await tx.execute_query("DELETE FROM raw_blocks WHERE id = ANY($1::bigint[])", [ids])
        else:
            for i in range(0, len(ids), _ID_BATCH):
                part = ids[i : i + _ID_BATCH]
                await tx.execute_query(
                    f"DELETE FROM raw_blocks WHERE id IN ({', '.join('?' * len(part))})", part
                )
    report.series += len(group)
    report.blocks += sum(len(f.block_ids) for f in group)
    report.samples += sum(f.samples for f in group)
    report.chunks += len(chunks)


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
