"""Writing points through the storage layer the way ingest does: host, series, the writer."""

from __future__ import annotations

import uuid
from typing import Self

import numpy as np

from hostpulse.hub.auth.hosts import ensure_host
from hostpulse.hub.storage.registry import SeriesRegistry
from hostpulse.hub.storage.writer import PendingBatch, SeriesBlock, Writer

T0 = 1_764_028_800_000  # 2025-11-25 00:00 UTC: a day boundary, so windows start at T0


class Feed:
    """Batches of one host's series into a running Writer; the writer's real commit path."""

    def __init__(self, host: str = "web-1") -> None:
        self.host = host
        self.writer = Writer(64)
        self.registry = SeriesRegistry()
        self.host_id = 0

    async def __aenter__(self) -> Self:
        self.host_id = (await ensure_host(self.host)).id
        self.writer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.writer.stop()

    async def series(self, metric: str, **labels: str) -> int:
        info = await self.registry.resolve(self.host_id, self.host, metric, labels, "")
        return info.id

    async def write(
        self, blocks: dict[int, tuple[np.ndarray, np.ndarray]], batch_id: str | None = None,
        received_at: int = T0, anomalies: list[tuple] | None = None,
    ) -> bool:
        """One batch; True if the writer found it a duplicate."""
        parts = [
            SeriesBlock(sid, np.asarray(ts, np.int64), np.asarray(values, np.float64))
            for sid, (ts, values) in blocks.items()
        ]
        batch = PendingBatch(
            host_id=self.host_id, batch_id=batch_id or uuid.uuid4().hex, agent_version="test",
            blocks=parts, samples=sum(p.ts.size for p in parts), received_at=received_at,
            anomalies=anomalies or [],
        )
        return await self.writer.submit(batch)

    async def write_series(
        self, sid: int, ts: np.ndarray, values: np.ndarray, per_batch: int = 10
    ) -> None:
        for lo in range(0, ts.size, per_batch):
            await self.write({sid: (ts[lo : lo + per_batch], values[lo : lo + per_batch])})
