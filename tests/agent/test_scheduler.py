from __future__ import annotations

import asyncio
import threading

import pytest

from agent import Sample, Source
from agent.point import Point
from agent.scheduler import Collector, Scheduler, next_tick
from agent.stats import Stats


class Fast(Source):
    name = "fast"

    def collect(self):
        return [Sample("fast.x", 1)]


class AsyncFast(Source):
    name = "afast"

    async def collect(self):
        await asyncio.sleep(0)
        return [Sample("afast.x", 2)]


class AsyncGen(Source):
    name = "agen"

    async def collect(self):
        for i in range(3):
            yield Sample("agen.x", i)


class Raises(Source):
    name = "raises"

    def collect(self):
        raise RuntimeError("boom")


release = threading.Event()


class HangsSync(Source):
    name = "hangs"

    def collect(self):
        release.wait(30)
        return [Sample("hangs.x", 1)]


class HangsAsync(Source):
    name = "ahangs"

    async def collect(self):
        await asyncio.sleep(3600)


class Floods(Source):
    name = "floods"

    def collect(self):
        return (Sample("floods.x", i) for i in range(1_000_000))


class Garbage(Source):
    name = "garbage"

    def collect(self):
        return [Sample("g.ok", 1), Sample("g.nan", float("nan")), Sample("g.s", "x"), 42]


def make(source: Source, stats: Stats, *, interval=0.05, timeout=0.5, cap=1000) -> Collector:
    return Collector(source.name, source, interval, timeout, cap, stats)


def test_next_tick_is_aligned_to_the_wall_clock():
    assert next_tick(1_000, 1_000) == 2_000
    assert next_tick(1_999, 1_000) == 2_000
    assert next_tick(12_345, 5_000) == 15_000
    assert next_tick(12_345, 250) == 12_500


@pytest.mark.parametrize("cls", [Fast, AsyncFast, AsyncGen])
async def test_sync_async_and_generator_sources_all_collect(cls):
    stats = Stats()
    points = await make(cls(), stats).collect(5_000)
    assert points and all(isinstance(p, Point) and p.ts == 5_000 for p in points)
    assert stats.samples[cls.name] == len(points) and not stats.errors


async def test_an_exception_is_counted_and_logged_with_the_plugin_name(caplog):
    stats = Stats(plugins={"raises": "myplugin"})
    assert await make(Raises(), stats).collect(0) == []
    assert stats.errors[("raises", "exception")] == 1
    assert "source raises (plugin myplugin): collect() raised RuntimeError: boom" in caplog.text


async def test_a_hanging_async_source_is_timed_out():
    stats = Stats()
    assert await make(HangsAsync(), stats, timeout=0.05).collect(0) == []
    assert stats.errors[("ahangs", "timeout")] == 1


async def test_a_flood_is_capped_and_counted():
    stats = Stats()
    points = await make(Floods(), stats, cap=100).collect(0)
    assert len(points) == 100
    assert stats.errors[("floods", "too_many_samples")] == 1


async def test_invalid_samples_are_dropped_and_counted_the_rest_kept():
    stats = Stats()
    points = await make(Garbage(), stats).collect(0)
    assert [p.metric for p in points] == ["g.ok"]
    assert stats.errors[("garbage", "invalid_sample")] == 3
    assert stats.dropped["invalid_sample"] == 3


async def test_bad_sources_never_hold_back_a_good_one():
    """A raising, a hung sync and a hung async source run beside a fast one, which keeps ticking."""
    release.clear()
    stats = Stats()
    seen: list[Point] = []
    enough = asyncio.Event()

    def sink(points: list[Point]) -> None:
        seen.extend(points)
        if sum(p.metric == "fast.x" for p in seen) >= 5:
            enough.set()

    collectors = [
        make(Raises(), stats), make(HangsSync(), stats, timeout=0.1),
        make(HangsAsync(), stats, timeout=0.1), make(Fast(), stats),
    ]
    scheduler = Scheduler(collectors, sink)
    task = asyncio.create_task(scheduler.run())
    try:
        await asyncio.wait_for(enough.wait(), 20)
    finally:
        task.cancel()
        release.set()
        scheduler.close()
    assert stats.errors[("raises", "exception")] >= 1
    assert stats.errors[("hangs", "timeout")] >= 1
    assert stats.errors[("ahangs", "timeout")] >= 1
    # The hung thread keeps its source busy: later ticks are skipped, not piled up in threads.
    assert stats.errors[("hangs", "overrun")] >= 1
    ticks = [p.ts for p in seen if p.metric == "fast.x"]
    assert ticks == sorted(set(ticks)) and all(ts % 50 == 0 for ts in ticks)


async def test_a_hung_sync_source_does_not_keep_the_process_from_exiting():
    # Its thread is a daemon: were it a pool thread, interpreter exit would wait for it forever.
    release.clear()
    collector = make(HangsSync(), Stats(), timeout=0.05)
    await collector.collect(0)
    names = {t.name: t.daemon for t in threading.enumerate()}
    assert names["hostpulse-source-hangs"] is True
    release.set()
    collector.close()


def test_ticks_follow_the_wall_clock_even_when_it_is_set_back(monkeypatch):
    clock = [10_000]
    monkeypatch.setattr("agent.scheduler.now_ms", lambda: clock[0])
    assert Scheduler._next(0, 1_000) == 11_000
    clock[0] = 10_999  # woke a hair before the tick it just collected
    assert Scheduler._next(11_000, 1_000) == 12_000
    clock[0] = 5_000  # the clock was set back a while: follow it, do not wait for 12 s to return
    assert Scheduler._next(12_000, 1_000) == 6_000
