"""The live bus: fan-out of committed points to WebSocket sessions.

Each subscriber has its own bounded queue (the quart chat example's broker). Publishing never
waits: a subscriber whose queue is full loses its oldest frames, so a slow browser can neither
slow ingest nor other browsers, and its memory stays bounded. The bound is in bytes, not frames:
a group commit releases a burst of frames at once (one per batch: hundreds, for a fleet), which a
queue of a few dozen frames dropped though the session would have sent them all within
milliseconds, while a byte bound still caps the memory of a session that stopped reading. Queues
hold frames already encoded as JSON text: a frame is encoded once however many sessions receive it
whole, and text is several times smaller than the Python lists it came from.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import fnmatch
import gc
import logging
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson

log = logging.getLogger(__name__)

FRAME_OVERHEAD = 80  # bytes a queued str costs beyond its text: a tiny frame is not free
#: Metric names a session remembers the answer for; past this the memory starts afresh.
MATCH_CACHE = 4096


class TooManySessions(Exception):
    """The hub, or this viewer, has as many WebSocket sessions open as it allows."""


@dataclass(slots=True)
class SessionLimits:
    total: int = 200
    #: Per viewer key (a token's hash); sessions without a key count against ``total`` only.
    per_viewer: int = 20


class FrameQueue(asyncio.Queue[str]):
    """An asyncio.Queue of encoded frames that also counts the bytes it holds (through the
    ``_put``/``_get`` hooks asyncio's own queue variants override), for Subscription.offer."""

    def _init(self, maxsize: int) -> None:
        super()._init(maxsize)
        self.bytes = 0

    def _put(self, item: str) -> None:
        super()._put(item)
        self.bytes += len(item) + FRAME_OVERHEAD

    def _get(self) -> str:
        item = super()._get()
        self.bytes -= len(item) + FRAME_OVERHEAD
        return item


@dataclass(slots=True, eq=False)  # compared and hashed by identity: it lives in a set
class Subscription:
    queue: FrameQueue
    max_bytes: int = 4 << 20
    hosts: frozenset[str] = frozenset({"*"})
    metrics: tuple[str, ...] = ("*",)
    dropped: int = 0
    viewer: str | None = None
    _pattern: re.Pattern[str] | None = None
    _matches: dict[str, bool] = field(default_factory=dict)

    def subscribe(self, hosts: list[str], metrics: list[str]) -> None:
        """Replace what this session wants. The patterns are compiled into one regex, and each
        metric name is matched once and remembered: publishing a frame costs a dict lookup per
        series, whatever the number of patterns (issue 18: 40,000 patterns tried one by one
        made every ingest take 2.25 s)."""
        self.hosts = frozenset(hosts)
        self.metrics = tuple(metrics)
        self._pattern = re.compile("|".join(fnmatch.translate(p) for p in dict.fromkeys(metrics)))
        self._matches = {}

    def wants_host(self, host: str) -> bool:
        return "*" in self.hosts or host in self.hosts

    def wants_metric(self, metric: str) -> bool:
        known = self._matches.get(metric)
        if known is not None:
            return known
        if self._pattern is None:
            self._pattern = re.compile("|".join(fnmatch.translate(p) for p in self.metrics))
        if len(self._matches) >= MATCH_CACHE:
            self._matches = {}
        wanted = self._matches[metric] = self._pattern.match(metric) is not None
        return wanted

    def offer(self, text: str) -> int:
        """Queue an encoded frame, dropping the oldest ones to make room; returns how many were dropped."""
        dropped = 0
        while self.queue.qsize() and self.queue.bytes + len(text) > self.max_bytes:
            self.queue.get_nowait()
            dropped += 1
        self.queue.put_nowait(text)
        self.dropped += dropped
        return dropped


@dataclass(slots=True)
class LocalBus:
    """In-process fan-out for a single hub."""

    #: Bytes of encoded frames a session may have waiting before it loses the oldest.
    queue_bytes: int = 4 << 20
    subscribers: set[Subscription] = field(default_factory=set)
    #: Frames lost by sessions too slow to take them, since start.
    dropped_frames: int = 0
    limits: SessionLimits = field(default_factory=SessionLimits)
    #: Seconds after a session ends before the memory its connection held is handed back to the
    #: OS: longer than the server's WebSocket ping interval (see GiveBack).
    give_back_after_s: float = 6.0
    _give_back: GiveBack = field(default_factory=lambda: GiveBack())

    @asynccontextmanager
    async def subscribe(self, viewer: str | None = None) -> AsyncIterator[Subscription]:
        """A session's subscription, ``viewer`` naming who opened it (a token's hash) for the
        per-viewer cap; raises TooManySessions past a cap, before anything is allocated."""
        if len(self.subscribers) >= self.limits.total:
            raise TooManySessions(f"the hub has {self.limits.total} live sessions open")
        if viewer is not None and (
            sum(1 for s in self.subscribers if s.viewer == viewer) >= self.limits.per_viewer
        ):
            raise TooManySessions(f"this viewer has {self.limits.per_viewer} live sessions open")
        sub = Subscription(FrameQueue(), self.queue_bytes, viewer=viewer)
        self.subscribers.add(sub)
        try:
            yield sub
        finally:
            self.subscribers.discard(sub)
            while not sub.queue.empty():
                sub.queue.get_nowait()
            self._give_back.later(self.give_back_after_s)

    @property
    def has_subscribers(self) -> bool:
        """Whether building a frame is worth it: ingest skips it when nobody watches."""
        return bool(self.subscribers)

    def publish(self, frame: dict[str, Any], encoded: str | None = None) -> None:
        """Deliver a frame to every interested subscriber; ``points`` frames are filtered per series.
        ``encoded`` is the frame's JSON when the caller has it already (a frame from Redis).

        Its JSON is made once for all the sessions that take it whole, and a filtered copy once
        for all the sessions with the same metric patterns (the dashboard's compare page gives
        every viewer of one metric the same ones), never once per session."""
        texts: dict[tuple[str, ...], str | None] = {}
        host = frame.get("host")
        for sub in list(self.subscribers):
            if host is not None and not sub.wants_host(host):
                continue
            if sub.metrics not in texts:
                filtered = filter_series(sub, frame)
                if filtered is frame:
                    encoded = encoded or encode(frame)
                    texts[sub.metrics] = encoded
                else:
                    texts[sub.metrics] = None if filtered is None else encode(filtered)
            text = texts[sub.metrics]
            if text is not None:
                self.dropped_frames += sub.offer(text)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None


def filter_series(sub: Subscription, frame: dict[str, Any]) -> dict[str, Any] | None:
    """The frame as ``sub``'s metric patterns let it through: itself when they keep all of it
    (any frame but ``points``, or every series), a copy with the series they keep, or None."""
    if frame.get("type") != "points" or sub.metrics == ("*",):
        return frame
    series = [s for s in frame["series"] if sub.wants_metric(s["metric"])]
    if len(series) == len(frame["series"]):
        return frame
    return {**frame, "series": series} if series else None


def encode(frame: dict[str, Any]) -> str:
    return orjson.dumps(frame).decode()


try:
    _MALLOC_TRIM = getattr(
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6"), "malloc_trim", None
    )
except OSError:  # no C library by that name (Windows): nothing to trim
    _MALLOC_TRIM = None


class GiveBack:
    """Hands the memory of ended sessions back to the OS, once per burst of them.

    Three things kept it after the sessions closed (issue 18: 40 sessions that never read took RSS
    from 89 to 111 MiB, and it stayed at 111 MiB 25 s after they closed):

    * Hypercorn's ping task of each WebSocket sleeps ``websocket_ping_interval`` (``ws_ping_s``)
      between pings and sees that its connection closed only when it wakes; until then it holds
      the connection, whose permessage-deflate compressor alone is ~260 KiB (tracemalloc: 10,480
      KiB in 280 blocks for 40 connections, allocated by wsproto's ``zlib.compressobj``);
    * a finished connection is held in reference cycles (Hypercorn's TCPServer hands its protocol
      a bound method of itself), freed only by a full collection, which the hub's tuned collector
      (hostpulse.hub.web.server.tune_gc) runs rarely;
    * what is freed stays in glibc's heap until ``malloc_trim`` gives its pages back.

    So ``later(delay)`` collects and trims ``delay`` after a session ends, ``delay`` being longer
    than the ping interval, and once more ``delay`` later if other sessions ended meanwhile: at
    most once per ``delay``, however many end. A full collection with trim took 12 to 15 ms here
    after 40 sessions (~20,000 tracked objects; those of start-up are frozen)."""

    __slots__ = ("_again", "_delay_s", "_pending")

    def __init__(self) -> None:
        self._pending: asyncio.TimerHandle | None = None
        self._again = False
        self._delay_s = 0.0

    def later(self, delay_s: float) -> None:
        self._delay_s = delay_s
        if self._pending is None:
            self._pending = asyncio.get_running_loop().call_later(delay_s, self._run)
        else:
            self._again = True

    def _run(self) -> None:
        self._pending = None
        started = time.perf_counter()
        found = gc.collect()
        give_back_memory()
        log.debug("ended sessions: %d objects collected, memory trimmed in %.1f ms", found,
                  (time.perf_counter() - started) * 1000)
        if self._again:
            self._again = False
            self.later(self._delay_s)


def give_back_memory() -> None:
    """Return freed heap pages to the OS: small strings and buffers carved from glibc's heap stay
    in the process once freed until malloc_trim releases them."""
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)
