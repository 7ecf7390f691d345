"""RedisBus (hub/bus_redis.py): two buses on one Redis behave like one LocalBus, survive Redis loss.

The buses here stand for two hubs; the hub processes themselves are in test_two_hubs.py."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator

import orjson
import pytest

from hostpulse.hub.live.bus import Subscription
from hostpulse.hub.live.redis_bus import RedisBus, split_prefix
from tests.support.hub_process import free_port


async def until(condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    """Wait for a condition another task makes true; fail naming it if it never comes."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"still not true after {timeout} s: {what}")
        await asyncio.sleep(0.02)


def frame(host: str, *metrics: str, n: int = 0) -> dict[str, object]:
    return {
        "type": "points",
        "host": host,
        "received_at": n,
        "series": [
            {"id": i, "metric": m, "points": [[n, float(i)]]} for i, m in enumerate(metrics)
        ],
    }


def drain(sub: Subscription) -> list[dict[str, object]]:
    out = []
    while not sub.queue.empty():
        out.append(orjson.loads(sub.queue.get_nowait()))  # queues hold encoded frames
    return out


@pytest.fixture
async def two_buses(redis_url: str) -> AsyncIterator[tuple[RedisBus, RedisBus]]:
    a, b = (
        RedisBus(redis_url, watch_refresh_s=0.1),
        RedisBus(redis_url, watch_refresh_s=0.1),
    )
    await a.start()
    await b.start()
    try:
        await until(lambda: a.stats.connected and b.stats.connected, "both buses subscribed")
        yield a, b
    finally:
        await a.stop()
        await b.stop()


def test_prefix_comes_from_the_url_and_is_removed_from_it() -> None:
    assert split_prefix("redis://h:1/2?prefix=fleet&db=3") == ("redis://h:1/2?db=3", "fleet")
    assert split_prefix("redis://h:1/0") == ("redis://h:1/0", "hostpulse")
    with pytest.raises(ValueError, match="redis://"):
        split_prefix("http://h:1/0")


async def test_frame_reaches_the_other_hub_filtered(two_buses: tuple[RedisBus, RedisBus]) -> None:
    a, b = two_buses
    async with b.subscribe() as sub:
        sub.metrics = ("cpu.*",)
        await until(lambda: a.has_subscribers, "hub A learns that hub B has a watcher")
        a.publish(frame("web-1", "cpu.percent", "mem.used", n=1))
        got = orjson.loads(await asyncio.wait_for(sub.queue.get(), 10))
    assert got["host"] == "web-1"
    assert [s["metric"] for s in got["series"]] == ["cpu.percent"]
    assert b.stats.received == 1 and a.stats.published == 1


async def test_own_frames_reach_own_sessions_exactly_once(
    two_buses: tuple[RedisBus, RedisBus],
) -> None:
    a, b = two_buses
    async with a.subscribe() as mine, b.subscribe():
        await until(lambda: a._remote_watchers and b._remote_watchers, "each hub sees the other")
        a.publish(frame("web-1", "cpu.percent", n=1))
        a.publish(frame("web-1", "cpu.percent", n=2))
        # Redis keeps the channel's order: once B's marker is here, A's own echoes were read first.
        b.publish(frame("marker", "cpu.percent", n=3))
        await until(lambda: mine.queue.qsize() >= 3, "the marker from hub B")
        await asyncio.sleep(0)
        got = [(f["host"], f["received_at"]) for f in drain(mine)]
    assert got == [("web-1", 1), ("web-1", 2), ("marker", 3)]


async def test_nobody_watching_means_no_frames_to_build(
    two_buses: tuple[RedisBus, RedisBus],
) -> None:
    a, b = two_buses
    await asyncio.sleep(0.3)  # a few advertising rounds with no session anywhere
    assert not a.has_subscribers and not b.has_subscribers
    async with b.subscribe():
        await until(lambda: a.has_subscribers, "hub A sees B's session")
    await until(lambda: not a.has_subscribers, "hub A sees that B's session has gone")
    a.publish(frame("web-1", "cpu.percent"))
    assert a.stats.published == 0 and a._outbound.empty()


@pytest.fixture
def private_redis() -> Iterator[Callable[[], subprocess.Popen[bytes]]]:
    """Start/stop a Redis of our own on a free port, so a test can take it away."""
    server = shutil.which("redis-server")
    assert server, "redis-server is needed (Debian package redis-server)"
    port = free_port()
    started: list[subprocess.Popen[bytes]] = []

    def start() -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            [
                server,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
        )
        started.append(process)
        return process

    start.port = port  # type: ignore[attr-defined]
    try:
        yield start
    finally:
        for process in started:
            if process.poll() is None:
                process.terminate()
                process.wait(10)


async def test_survives_redis_going_away_and_coming_back(
    private_redis: Callable[[], subprocess.Popen[bytes]],
) -> None:
    url = f"redis://127.0.0.1:{private_redis.port}/0?prefix=reconnect"  # type: ignore[attr-defined]
    server = private_redis()
    a, b = RedisBus(url, watch_refresh_s=0.1), RedisBus(url, watch_refresh_s=0.1)
    await a.start()
    await b.start()
    try:
        async with a.subscribe() as mine, b.subscribe() as theirs:
            await until(lambda: a.has_subscribers and a._remote_watchers, "A sees B's session")
            server.terminate()
            server.wait(10)
            await until(lambda: not a.stats.connected, "A notices Redis has gone")
            for n in range(50):  # ingest goes on meanwhile: frames for local sessions still flow
                a.publish(frame("web-1", "cpu.percent", n=n))
                await asyncio.sleep(0.005)
            assert len(drain(mine)) == 50
            private_redis()
            await until(lambda: a.stats.connected and b.stats.connected, "both back on Redis")
            await until(lambda: a._remote_watchers, "A sees B's session again")
            drain(theirs)
            a.publish(frame("web-1", "cpu.percent", n=999))
            got = orjson.loads(await asyncio.wait_for(theirs.queue.get(), 10))
            while got["received_at"] != 999:  # frames that made it before the outage was seen
                got = orjson.loads(await asyncio.wait_for(theirs.queue.get(), 10))
    finally:
        await a.stop()
        await b.stop()
    assert a.stats.reconnects >= 1 and b.stats.reconnects >= 1
    assert a.stats.dropped + a.stats.published >= 1
