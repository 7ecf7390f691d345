"""The live bus: fan-out of committed points to WebSocket sessions.

Each subscriber has its own bounded queue (the quart chat example's broker). Publishing never
waits: a subscriber whose queue is full loses its oldest frame, so a slow browser can neither
slow ingest nor other browsers, and its memory stays bounded. Queues hold frames already encoded
as JSON text: a frame is encoded once however many sessions receive it whole, and text is several
times smaller than the Python lists it came from.
"""

from __future__ import annotations

import asyncio
import fnmatch
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson


@dataclass(slots=True, eq=False)  # compared and hashed by identity: it lives in a set
class Subscription:
    queue: asyncio.Queue[str]
    hosts: frozenset[str] = frozenset({"*"})
    metrics: tuple[str, ...] = ("*",)
    dropped: int = 0

    def wants_host(self, host: str) -> bool:
        return "*" in self.hosts or host in self.hosts

    def wants_metric(self, metric: str) -> bool:
        return any(fnmatch.fnmatchcase(metric, pattern) for pattern in self.metrics)

    def offer(self, text: str) -> int:
        """Queue an encoded frame, dropping the oldest ones to make room; returns how many were dropped."""
        dropped = 0
        while True:
            try:
                self.queue.put_nowait(text)
                self.dropped += dropped
                return dropped
            except asyncio.QueueFull:
                self.queue.get_nowait()
                dropped += 1


@dataclass(slots=True)
class LocalBus:
    """In-process fan-out for a single hub."""

    queue_frames: int = 64
    subscribers: set[Subscription] = field(default_factory=set)
    #: Frames lost by sessions too slow to take them, since start.
    dropped_frames: int = 0

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
        whole: str | None = None
        for sub in list(self.subscribers):
            filtered = filter_frame(sub, frame)
            if filtered is None:
                continue
            if filtered is frame:
                if whole is None:
                    whole = encode(frame)
                text = whole
            else:
                text = encode(filtered)
            self.dropped_frames += sub.offer(text)

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


def encode(frame: dict[str, Any]) -> str:
    return orjson.dumps(frame).decode()
