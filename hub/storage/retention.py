"""Retention per tier: what is older than its tier's horizon is deleted.

* raw blocks and chunks: ``retain_raw_days``;
* 1-minute rollups: ``retain_1m_days``; 1-hour rollups and anomalies: ``retain_1h_days``;
* batch keys (``ingested_batches``): ``max_past_s + max_future_s`` after they were received. A
  retry arriving later than that carries samples older than ``max_past_s`` — its first sample was
  at most ``max_future_s`` ahead of the first receipt — so ingest refuses it anyway and the key
  can never be needed again.

A window is dropped whole, once its end passes the horizon.
"""

from __future__ import annotations

from tortoise.transactions import in_transaction

from hub.settings import Settings
from hub.storage.sql import placeholders

DAY_MS = 86_400_000
KEY_SLICE = 10_000


#: ``series_id IN (SELECT id FROM series)`` turns each delete into one index seek per series on
#: (series_id, time) instead of a scan of the whole table: on SQLite the scan would hold the
#: connection the writer needs.
_PER_SERIES = "series_id IN (SELECT id FROM series) AND "


async def apply_retention(
    settings: Settings, now_ms: int, *, prune_keys: bool = True
) -> dict[str, int]:
    """Delete what each tier no longer keeps; returns the rows deleted per table. Batch keys
    are pruned only with ``prune_keys``."""
    raw = now_ms - int(settings.retain_raw_days * DAY_MS)
    minute = now_ms - int(settings.retain_1m_days * DAY_MS)
    hour = now_ms - int(settings.retain_1h_days * DAY_MS)
    window = int(settings.chunk_window_s) * 1000
    keys = now_ms - int((settings.max_past_s + settings.max_future_s) * 1000)
    statements = {
        "raw_blocks": (f"DELETE FROM raw_blocks WHERE {_PER_SERIES}t_max < ?", raw),
        # t_end = t_start + window: a window goes once its end passes the horizon.
        "chunks": (f"DELETE FROM chunks WHERE {_PER_SERIES}t_start <= ?", raw - window),
        "rollups_1m": (f"DELETE FROM rollups_1m WHERE {_PER_SERIES}t_start <= ?", minute - window),
        "rollups_1h": (f"DELETE FROM rollups_1h WHERE {_PER_SERIES}ts <= ?", hour - 3_600_000),
        "anomalies": ("DELETE FROM anomalies WHERE ts < ?", hour),
    }
    deleted: dict[str, int] = {}
    async with in_transaction() as tx:
        dialect = tx.capabilities.dialect
        for table, (sql, cutoff) in statements.items():
            count, _ = await tx.execute_query(placeholders(dialect, sql), [cutoff])
            deleted[table] = int(count)
    if prune_keys:
        deleted["ingested_batches"] = await _prune_keys(dialect, keys)
    return deleted


async def _prune_keys(dialect: str, cutoff: int) -> int:
    """Old batch keys, a slice per transaction so ingest commits in between. There is no index
    on received_at (it would cost as much as the keys); ULID batch ids sort by time, so the old
    keys of each host sit at the front of its range and a slice finds them quickly."""
    total = 0
    while True:
        async with in_transaction() as tx:
            count, _ = await tx.execute_query(
                placeholders(
                    dialect,
                    "DELETE FROM ingested_batches WHERE (host_id, batch_id) IN (SELECT host_id, "
                    f"batch_id FROM ingested_batches WHERE received_at < ? LIMIT {KEY_SLICE})",
                ),
                [cutoff],
            )
        total += int(count)
        if count < KEY_SLICE:
            return total
