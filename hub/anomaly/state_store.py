"""Detector state in the database: loaded the first time this hub sees a series, saved now and
then and at shutdown. A restarted hub, or the hub a host has moved to, resumes each series where
the last save left it instead of learning it again (and staying quiet through warm-up)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Hashable, Iterable

from tortoise.transactions import in_transaction

from hostpulse.hub.anomaly import AnomalyEngine
from hostpulse.hub.storage.database import connection
from hostpulse.hub.storage.sql import placeholders
from hostpulse.hub.tasks import cancel
from hostpulse.wire import now_ms

log = logging.getLogger(__name__)


class DetectorStateStore:
    def __init__(self, engine: AnomalyEngine, save_every_s: float = 60.0) -> None:
        self.engine = engine
        self.save_every_s = save_every_s
        self._loaded: set[int] = set()  # series whose saved state was looked for already
        self._dirty: set[int] = set()  # series scored since the last save
        self._task: asyncio.Task[None] | None = None

    async def prepare(self, series_ids: Iterable[int]) -> None:
        """Before scoring: restore the saved state of series this hub has not seen yet."""
        new = [i for i in series_ids if i not in self._loaded]
        self._dirty.update(series_ids)
        if not new:
            return
        conn = connection()
        marks = ", ".join("?" * len(new))
        rows = await conn.execute_query_dict(
            placeholders(
                conn.capabilities.dialect,
                f"SELECT series_id, state FROM detector_state WHERE series_id IN ({marks})",
            ),
            new,
        )
        if rows:
            self.engine.restore({row["series_id"]: bytes(row["state"]) for row in rows})
        self._loaded.update(new)

    async def save(self) -> int:
        """Write the state of every series scored since the last save; returns how many."""
        dirty, self._dirty = self._dirty, set()
        snapshots = self.engine.snapshot(dirty)
        if not snapshots:
            return 0
        now = now_ms()
        try:
            await self._upsert(snapshots, now)
        except Exception:
            self._dirty |= dirty  # saved next time
            raise
        return len(snapshots)

    async def _upsert(self, snapshots: dict[Hashable, bytes], now: int) -> None:
        async with in_transaction() as conn:
            await conn.execute_many(
                placeholders(
                    conn.capabilities.dialect,
                    "INSERT INTO detector_state (series_id, state, updated_at) VALUES (?, ?, ?) "
                    "ON CONFLICT (series_id) DO UPDATE SET state = excluded.state, "
                    "updated_at = excluded.updated_at",
                ),
                [[series_id, blob, now] for series_id, blob in snapshots.items()],
            )

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="hostpulse-detector-state")

    async def stop(self) -> None:
        await cancel(self._task)
        self._task = None
        await self.save()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.save_every_s)
            try:
                await self.save()
            except Exception:  # the next save retries; scoring goes on meanwhile
                log.exception("saving detector state failed")
