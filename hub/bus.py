"""The live bus: fan-out of committed points to WebSocket sessions.

Each subscriber has its own bounded queue (the quart chat example's broker). Publishing never
waits: a subscriber whose queue is full loses its oldest frame, so a slow browser can neither
slow ingest nor other browsers, and its memory stays bounded.
"""

from __future__ import annotations

import asyncio
import fnmatch
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True, eq=False)  # compared and hashed by identity: it lives in a set
class Subscription:
    queue: asyncio.Queue[dict[str, Any]]
    hosts: frozenset[str] = frozenset({"*"})
    metrics: tuple[str, ...] = ("*",)
    dropped: int = 0

    def wants_host(self, host: str) -> bool:
        return "*" in self.hosts or host in self.hosts

    def wants_metric(self, metric: str) -> bool:
        return any(fnmatch.fnmatchcase(metric, pattern) for pattern in self.metrics)

    def offer(self, frame: dict[str, Any]) -> None:
        while True:
            try:
                self.queue.put_nowait(frame)
                return
            except asyncio.QueueFull:
                self.queue.get_nowait()
                self.dropped += 1


@dataclass(slots=True)
class LocalBus:
    """In-process fan-out for a single hub."""

    queue_frames: int = 64
    subscribers: set[Subscription] = field(default_factory=set)

    @asynccontextmanager
    async def subscribe(self) -> AsyncIterator[Subscription]:
        sub = Subscription(asyncio.Queue(maxsize=self.queue_frames))
        self.subscribers.add(sub)
        try:
            yield sub
        finally:
            self.subscribers.discard(sub)

    @property
    def has_subscribers(self) -> bool:
        """Whether building a frame is worth it: ingest skips it when nobody watches."""
        return bool(self.subscribers)

    def publish(self, frame: dict[str, Any]) -> None:
        """Deliver a frame to every interested subscriber; ``points`` frames are filtered per series."""
        for sub in list(self.subscribers):
            filtered = filter_frame(sub, frame)
            if filtered is not None:
                sub.offer(filtered)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None


def filter_frame(sub: Subscription, frame: dict[str, Any]) -> dict[str, Any] | None:
    host = frame.get("host")
    if host is not None and not sub.wants_host(host):
        return None
    if frame.get("type") != "points" or sub.metrics == ("*",):
        return frame
    series = [s for s in frame["series"] if sub.wants_metric(s["metric"])]
    if not series:
        return None
    return {**frame, "series": series}
