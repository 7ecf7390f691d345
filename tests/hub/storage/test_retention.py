"""Batch keys are swept slice by slice along their primary key: old ones go, recent ones stay."""

from __future__ import annotations

import pytest

from hostpulse.hub.auth.hosts import ensure_host
from hostpulse.hub.settings import Settings
from hostpulse.hub.storage import retention
from hostpulse.hub.storage.database import connection
from hostpulse.hub.storage.sql import placeholders

DAY = 86_400_000
NOW = 1_764_028_800_000 + 40 * DAY


async def test_the_sweep_walks_the_keys_in_slices_and_wraps_around(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retention, "KEY_SLICE", 3)
    settings = Settings(max_past_s=30 * 86400, max_future_s=0)
    hosts = [(await ensure_host(name)).id for name in ("a", "b")]
    keys = [(h, f"k{i:02d}", NOW - (45 if i % 2 else 1) * DAY) for h in hosts for i in range(4)]
    conn = connection()
    await conn.execute_many(
        placeholders(
            conn.capabilities.dialect,
            "INSERT INTO ingested_batches (host_id, batch_id, received_at, samples) VALUES (?, ?, ?, 1)",
        ),
        [list(k) for k in keys],
    )
    sweep = retention.KeySweep()
    deleted = []
    for _ in range(3):  # 8 keys in slices of 3: 3, 3, then 2 and back to the start
        deleted.append(await sweep.step(settings, NOW))
    assert sweep.cursor is None
    assert sum(deleted) == 4 and deleted[0] in (1, 2)
    left = await conn.execute_query_dict("SELECT host_id, batch_id FROM ingested_batches ORDER BY 1, 2")
    assert [(r["host_id"], r["batch_id"]) for r in left] == [
        (h, b) for h, b, received in keys if received > NOW - 30 * DAY
    ]
    assert await sweep.step(settings, NOW) == 0
