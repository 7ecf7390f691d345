"""Retention per tier: what is older than its tier's horizon is deleted.

* raw blocks and chunks: ``retain_raw_days``;
* 1-minute rollups: ``retain_1m_days``; 1-hour rollups: ``retain_1h_days``;
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


async def apply_retention(settings: Settings, now_ms: int) -> dict[str, int]:
    """Delete what each tier no longer keeps; returns the rows deleted per table."""
    raw = now_ms - int(settings.retain_raw_days * DAY_MS)
    keys = now_ms - int((settings.max_past_s + settings.max_future_s) * 1000)
    statements = {
        "raw_blocks": ("DELETE FROM raw_blocks WHERE t_max < ?", raw),
        "chunks": ("DELETE FROM chunks WHERE t_end <= ?", raw),
        "rollups_1m": (
            "DELETE FROM rollups_1m WHERE t_end <= ?",
            now_ms - int(settings.retain_1m_days * DAY_MS),
        ),
        "rollups_1h": (
            "DELETE FROM rollups_1h WHERE ts + 3600000 <= ?",
            now_ms - int(settings.retain_1h_days * DAY_MS),
        ),
        "ingested_batches": ("DELETE FROM ingested_batches WHERE received_at < ?", keys),
    }
    deleted: dict[str, int] = {}
    async with in_transaction() as tx:
        dialect = tx.capabilities.dialect
        for table, (sql, cutoff) in statements.items():
            count, _ = await tx.execute_query(placeholders(dialect, sql), [cutoff])
            deleted[table] = int(count)
    return deleted
