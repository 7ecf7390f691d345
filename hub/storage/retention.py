"""Retention per tier: what is older than its tier's horizon is deleted.

* raw blocks and chunks: ``retain_raw_days``;
* 1-minute rollups: ``retain_1m_days``; 1-hour rollups and anomalies: ``retain_1h_days``;
* alert history, and notifications sent or silenced: ``retain_alerts_days`` (those still to be
  sent, and the alerts' states, stay);
* batch keys (``ingested_batches``, swept by :class:`KeySweep`): ``max_past_s + max_future_s``
  after they were received. A
  retry arriving later than that carries samples older than ``max_past_s`` — its first sample was
  at most ``max_future_s`` ahead of the first receipt — so ingest refuses it anyway and the key
  can never be needed again.

A window is dropped whole, once its end passes the horizon.
"""

from __future__ import annotations

from tortoise.transactions import in_transaction

from hostpulse.hub.settings import Settings
from hostpulse.hub.storage.sql import placeholders

DAY_MS = 86_400_000
KEY_SLICE = 10_000


#: ``series_id IN (SELECT id FROM series)`` turns each delete into one index seek per series on
#: (series_id, time) instead of a scan of the whole table: on SQLite the scan would hold the
#: connection the writer needs.
_PER_SERIES = "series_id IN (SELECT id FROM series) AND "


async def apply_retention(settings: Settings, now_ms: int) -> dict[str, int]:
    """Delete what each tier no longer keeps; returns the rows deleted per table. (Batch keys
    go by :class:`KeySweep`.)"""
    raw = now_ms - int(settings.retain_raw_days * DAY_MS)
    minute = now_ms - int(settings.retain_1m_days * DAY_MS)
    hour = now_ms - int(settings.retain_1h_days * DAY_MS)
    alerts = now_ms - int(settings.retain_alerts_days * DAY_MS)
    window = int(settings.chunk_window_s) * 1000
    statements = {
        "raw_blocks": (f"DELETE FROM raw_blocks WHERE {_PER_SERIES}t_max < ?", raw),
        # t_end = t_start + window: a window goes once its end passes the horizon.
        "chunks": (f"DELETE FROM chunks WHERE {_PER_SERIES}t_start <= ?", raw - window),
        "rollups_1m": (f"DELETE FROM rollups_1m WHERE {_PER_SERIES}t_start <= ?", minute - window),
        "rollups_1h": (f"DELETE FROM rollups_1h WHERE {_PER_SERIES}ts <= ?", hour - 3_600_000),
        "anomalies": ("DELETE FROM anomalies WHERE ts < ?", hour),
        # idx_alert_history_at makes this a range; the outbox has no index on created_at, but
        # only firing/resolved moves that a notifier takes are in it, and this runs hourly.
        "alert_history": ("DELETE FROM alert_history WHERE at < ?", alerts),
        "alert_outbox": (
            "DELETE FROM alert_outbox WHERE status IN ('sent', 'silenced') AND created_at < ?",
            alerts,
        ),
    }
    deleted: dict[str, int] = {}
    async with in_transaction() as tx:
        dialect = tx.capabilities.dialect
        for table, (sql, cutoff) in statements.items():
            count, _ = await tx.execute_query(placeholders(dialect, sql), [cutoff])
            deleted[table] = int(count)
    return deleted


class KeySweep:
    """Prunes old batch keys a slice at a time, walking the (host_id, batch_id) key in order.

    There is no index on received_at (it would cost as much as the keys themselves), and a
    ``WHERE received_at < ?`` would scan the whole table while holding SQLite's connection.
    Instead each call reads the next ``KEY_SLICE`` keys after a cursor — an index range — and
    deletes the old ones among them, in one short transaction. One slice per compactor run
    (every minute) sweeps 14 million keys a day, several times what 50 agents make; a key thus
    lives a few days past its horizon at most, which is safe: keeping a key longer never loses
    data."""

    def __init__(self) -> None:
        self.cursor: tuple[int, str] | None = None

    async def step(self, settings: Settings, now_ms: int) -> int:
        """One slice; returns the keys deleted."""
        cutoff = now_ms - int((settings.max_past_s + settings.max_future_s) * 1000)
        after = "" if self.cursor is None else "WHERE (host_id, batch_id) > (?, ?) "
        async with in_transaction() as tx:
            dialect = tx.capabilities.dialect
            _, rows = await tx.execute_query(
                placeholders(
                    dialect,
                    f"SELECT host_id, batch_id, received_at FROM ingested_batches {after}"
                    f"ORDER BY host_id, batch_id LIMIT {KEY_SLICE}",
                ),
                list(self.cursor or ()),
            )
            old = [[row[0], row[1]] for row in rows if row[2] < cutoff]
            if old:
                await tx.execute_many(
                    placeholders(
                        dialect, "DELETE FROM ingested_batches WHERE host_id = ? AND batch_id = ?"
                    ),
                    old,
                )
        # A short slice reached the end: the next one starts over from the first key.
        self.cursor = (int(rows[-1][0]), str(rows[-1][1])) if len(rows) == KEY_SLICE else None
        return len(old)
