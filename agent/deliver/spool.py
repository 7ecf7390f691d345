"""Spools: where batches wait while the hub is away. This module holds what a spool is (the
``Spool`` protocol, which delivery.py takes) and the in-memory one; diskspool.py the one on disk."""

from __future__ import annotations

from collections import deque
from typing import Protocol

from hostpulse.agent.deliver.batch import Batch
from hostpulse.agent.stats import Stats


class Spool(Protocol):
    """A FIFO of batches; ``append`` may drop the oldest when full and count it in ``stats``."""

    def __len__(self) -> int: ...
    def append(self, batch: Batch) -> None: ...
    def peek(self) -> Batch | None: ...
    def ack(self) -> None: ...
    def close(self) -> None: ...


class MemorySpool:
    """A FIFO bounded in bytes that drops (and counts) the oldest batch when full.

    Used when the agent has no writable state directory; lost when the agent stops.
    """

    def __init__(self, max_bytes: int, stats: Stats) -> None:
        self.max_bytes = max_bytes
        self.stats = stats
        self._batches: deque[Batch] = deque()
        self._size = 0

    def __len__(self) -> int:
        return len(self._batches)

    def append(self, batch: Batch) -> None:
        self._batches.append(batch)
        self._size += len(batch.body)
        while self._size > self.max_bytes and len(self._batches) > 1:
            dropped = self._batches.popleft()
            self._size -= len(dropped.body)
            self.stats.drop("spool_full", dropped.samples)
        self._publish()

    def peek(self) -> Batch | None:
        return self._batches[0] if self._batches else None

    def ack(self) -> None:
        self._size -= len(self._batches.popleft().body)
        self._publish()

    def _publish(self) -> None:
        self.stats.spool_bytes = self._size
        self.stats.spool_batches = len(self._batches)

    def close(self) -> None:
        if self._batches:
            self.stats.drop("shutdown", sum(batch.samples for batch in self._batches))
