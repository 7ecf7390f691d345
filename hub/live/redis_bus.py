"""The live bus across hubs: Redis pub/sub behind the same interface as :class:`hostpulse.hub.live.bus.LocalBus`.

Several hubs behind a load balancer share one live view: a batch ingested by hub A reaches a
browser connected to hub B. Each hub

* delivers its own frames to its own WebSocket sessions directly, in process (exactly once, and
  even while Redis is away), and ignores its own frames when they come back from Redis;
* PUBLISHes a frame to ``<prefix>:live`` only when another hub has a watcher, from a bounded
  outbound queue drained by a task, so ingest never waits on Redis; a full queue drops the frame
  and counts it, like a slow browser's queue does;
* reads ``<prefix>:live`` in a task and fans frames from other hubs out through LocalBus's own
  filtering and per-session bounded queues;
* advertises whether it has watchers in the sorted set ``<prefix>:watchers`` (member: this hub's
  origin id, score: expiry in epoch ms, refreshed well before it expires), so a hub whose batches
  nobody anywhere watches skips building frames, as a lone hub does.

Losing Redis never crashes the hub: every task logs once per outage, backs off and reconnects;
frames that could not be sent are counted in :attr:`RedisBus.stats`.

``--redis redis://HOST:PORT/DB?prefix=NAME`` picks the key prefix (default ``hostpulse``), so hub
fleets, or tests, sharing one Redis do not hear each other.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import orjson
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from hostpulse.backoff import Backoff
from hostpulse.hub.live.bus import LocalBus, Subscription

log = logging.getLogger(__name__)

DEFAULT_PREFIX = "hostpulse"
#: What a lost or refused connection raises in redis-py, besides its own error tree.
REDIS_DOWN = (RedisError, OSError, asyncio.TimeoutError)


@dataclass(slots=True)
class RedisBusStats:
    published: int = 0  #: frames sent to Redis
    received: int = 0  #: frames from other hubs delivered to this hub's sessions
    dropped: int = 0  #: frames for other hubs lost: outbound queue full, or Redis down
    reconnects: int = 0  #: Redis outages the channel reader survived
    connected: bool = False  #: whether the channel reader is subscribed right now


def split_prefix(url: str) -> tuple[str, str]:
    """``redis://h:p/0?prefix=x`` → (``redis://h:p/0``, ``x``): redis-py refuses unknown query keys."""
    parts = urlsplit(url)
    if parts.scheme not in {"redis", "rediss", "unix"}:
        raise ValueError(f"--redis {url!r}: expected redis://HOST:PORT[/DB][?prefix=NAME]")
    query = parse_qsl(parts.query, keep_blank_values=True)
    prefix = next((v for k, v in query if k == "prefix"), "") or DEFAULT_PREFIX
    rest = urlencode([(k, v) for k, v in query if k != "prefix"])
    return urlunsplit(parts._replace(query=rest)), prefix


def _where(url: str) -> str:
    """Host and port only: the URL may carry a password, which never goes to the log."""
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or 6379}"


class RedisBus(LocalBus):
    """Live fan-out shared by every hub on one Redis; a drop-in for LocalBus."""

    def __init__(
        self,
        url: str,
        queue_bytes: int = 4 << 20,
        *,
        outbound_frames: int = 1024,
        watch_ttl_s: float = 5.0,
        watch_refresh_s: float = 0.5,
    ) -> None:
        super().__init__(queue_bytes)
        self.url, self.prefix = split_prefix(url)
        self.channel = f"{self.prefix}:live"
        self.watchers_key = f"{self.prefix}:watchers"
        #: Tags this hub's frames on the channel so it can skip them when they come back.
        self.origin = uuid.uuid4().hex
        self.stats = RedisBusStats()
        self.watch_ttl_s = watch_ttl_s
        self.watch_refresh_s = watch_refresh_s
        self._origin_bytes = self.origin.encode()
        self._outbound: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=outbound_frames)
        self._remote_watchers = False
        self._watch_changed = asyncio.Event()
        self._client: aioredis.Redis | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False

    @asynccontextmanager
    async def subscribe(self, viewer: str | None = None) -> AsyncIterator[Subscription]:
        async with super().subscribe(viewer) as sub:
            self._watch_changed.set()  # advertise at once: other hubs start sending frames
            try:
                yield sub
            finally:
                self._watch_changed.set()

    @property
    def has_subscribers(self) -> bool:
        return bool(self.subscribers) or self._remote_watchers

    def publish(self, frame: dict[str, Any], encoded: str | None = None) -> None:
        """Deliver to this hub's sessions now; queue for the other hubs if any of them watches."""
        LocalBus.publish(self, frame, encoded)
        if not self._remote_watchers:
            return
        try:
            self._outbound.put_nowait(frame)
        except asyncio.QueueFull:
            self.stats.dropped += 1

    async def start(self) -> None:
        """Start the tasks; Redis need not be up yet (they connect when it is)."""
        self._client = aioredis.from_url(
            self.url, socket_connect_timeout=2, socket_timeout=5, health_check_interval=10
        )
        self._tasks = [
            self._spawn(self._read_channel(), "reader"),
            self._spawn(self._send_frames(), "publisher"),
            self._spawn(self._advertise(), "watchers"),
        ]
        log.info("live bus on Redis %s, channel %s", _where(self.url), self.channel)

    async def stop(self) -> None:
        # The flag as well as cancel(): redis-py can swallow a CancelledError that lands inside
        # one of its commands (seen with redis 8.1), and a loop must still end.
        self._closing = True
        self._watch_changed.set()
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            _, stuck = await asyncio.wait(self._tasks, timeout=5)
            for task in stuck:
                log.warning("%s did not stop within 5 s", task.get_name())
        self._tasks = []
        if self._client is not None:
            with contextlib.suppress(*REDIS_DOWN):
                await asyncio.wait_for(self._client.zrem(self.watchers_key, self.origin), 1)
            with contextlib.suppress(*REDIS_DOWN):
                await self._client.aclose()
            self._client = None

    def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        return asyncio.create_task(work, name=f"hostpulse-redis-{name}")

    @property
    def client(self) -> aioredis.Redis:
        assert self._client is not None, "RedisBus.start() was not awaited"
        return self._client

    async def _read_channel(self) -> None:
        outage = _Outage("reading the live channel", self.url, self.stats)
        while not self._closing:
            pubsub = self.client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                self.stats.connected = True
                outage.over()
                while not self._closing:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                    if message is not None and message["type"] == "message":
                        self._deliver(message["data"])
            except REDIS_DOWN as exc:
                self.stats.connected = False
                await outage.wait(exc)
            finally:
                self.stats.connected = False
                with contextlib.suppress(*REDIS_DOWN):
                    await pubsub.aclose()

    def _deliver(self, data: bytes) -> None:
        origin, _, payload = data.partition(b"\n")
        if origin == self._origin_bytes or not self.subscribers:
            return  # our own frame went out in process already; or nobody here to show it to
        try:
            frame = orjson.loads(payload)
        except orjson.JSONDecodeError:
            log.warning("ignored a malformed frame on %s", self.channel)
            return
        self.stats.received += 1
        LocalBus.publish(self, frame, payload.decode())  # sessions taking it whole get it as sent

    async def _send_frames(self) -> None:
        outage = _Outage("publishing live frames", self.url)
        while not self._closing:
            frames = [await self._outbound.get()]
            while not self._outbound.empty() and len(frames) < 256:
                frames.append(self._outbound.get_nowait())
            try:
                # One round trip for everything queued meanwhile: under load, frames come in bursts.
                async with self.client.pipeline(transaction=False) as pipe:
                    for frame in frames:
                        pipe.publish(self.channel, self._origin_bytes + b"\n" + orjson.dumps(frame))
                    await pipe.execute()
                self.stats.published += len(frames)
                outage.over()
            except REDIS_DOWN as exc:
                self.stats.dropped += len(frames)  # live frames are worth nothing late
                await outage.wait(exc)

    async def _advertise(self) -> None:
        """Keep this hub's entry in the watchers set while it has sessions; learn about the others."""
        outage = _Outage("sharing the watcher list", self.url)
        advertised = False
        while not self._closing:
            self._watch_changed.clear()
            try:
                now = time.time() * 1000
                async with self.client.pipeline(transaction=False) as pipe:
                    if self.subscribers:
                        pipe.zadd(self.watchers_key, {self.origin: now + self.watch_ttl_s * 1000})
                    elif advertised:
                        pipe.zrem(self.watchers_key, self.origin)
                    pipe.zremrangebyscore(self.watchers_key, "-inf", now)  # hubs that died
                    pipe.zrange(self.watchers_key, 0, -1)
                    members = (await pipe.execute())[-1]
                advertised = bool(self.subscribers)
                self._remote_watchers = any(m != self._origin_bytes for m in members)
                outage.over()
            except REDIS_DOWN as exc:
                self._remote_watchers = False  # nothing could be sent anyway
                await outage.wait(exc)
                continue
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancel that lands with
            # its timeout, and this task would never stop.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.watch_refresh_s):
                    await self._watch_changed.wait()


class _Outage:
    """Backoff and one log line per outage, not one per retry."""

    def __init__(self, doing: str, url: str, stats: RedisBusStats | None = None) -> None:
        self.doing, self.where, self.stats = doing, _where(url), stats
        # 0.1 s first: a Redis restart is back within a second or two, and live frames wait.
        self.backoff = Backoff(base=0.1, cap=2.0)

    async def wait(self, exc: BaseException) -> None:
        if not self.backoff.failing:
            if self.stats is not None:
                self.stats.reconnects += 1
            log.warning(
                "Redis %s lost while %s (%s); retrying", self.where, self.doing, exc or type(exc)
            )
        await asyncio.sleep(self.backoff.next())

    def over(self) -> None:
        if self.backoff.failing:
            log.info("Redis %s back for %s", self.where, self.doing)
        self.backoff.reset()
