from __future__ import annotations

import asyncio
import threading

import pytest

from hostpulse import Sample, Source
from hostpulse.agent.collect.point import CheckedSample
from hostpulse.agent.collect.scheduler import Collector, Scheduler, next_tick
from hostpulse.agent.collect.threads import Pool
from hostpulse.agent.stats import Stats


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


class Where(Source):
    """Records the thread each collect() ran on."""

    def __init__(self, name: str, threads: list[str]) -> None:
        super().__init__()
        self.name = name  # type: ignore[misc]
        self.threads = threads

    def collect(self):
        self.threads.append(threading.current_thread().name)
        return [Sample("where.x", 1)]


def make(source: Source, stats: Stats, *, interval=0.05, timeout=0.5, cap=1000,
         pool: Pool | None = None) -> Collector:
    return Collector(source.name, source, interval, timeout, cap, stats, pool)


def test_next_tick_is_aligned_to_the_wall_clock():
    assert next_tick(1_000, 1_000) == 2_000
    assert next_tick(1_999, 1_000) == 2_000
    assert next_tick(12_345, 5_000) == 15_000
    assert next_tick(12_345, 250) == 12_500


@pytest.mark.parametrize("cls", [Fast, AsyncFast, AsyncGen])
async def test_sync_async_and_generator_sources_all_collect(cls):
    stats = Stats()
    points = await make(cls(), stats).collect(5_000)
    assert points and all(isinstance(p, CheckedSample) and p.ts == 5_000 for p in points)
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


@pytest.mark.parametrize("shared", [True, False], ids=["shared thread", "own threads"])
async def test_bad_sources_never_hold_back_a_good_one(shared):
    """A raising, a hung sync and a hung async source run beside a fast one, which keeps ticking."""
    release.clear()
    pool = Pool() if shared else None
    stats = Stats()
    seen: list[CheckedSample] = []
    enough = asyncio.Event()

    def sink(points: list[CheckedSample]) -> None:
        seen.extend(points)
        if sum(p.metric == "fast.x" for p in seen) >= 5:
            enough.set()

    collectors = [
        make(Raises(), stats, pool=pool), make(HangsSync(), stats, timeout=0.1, pool=pool),
        make(HangsAsync(), stats, timeout=0.1), make(Fast(), stats, pool=pool),
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


async def test_sync_sources_share_one_thread():
    threads: list[str] = []
    pool = Pool()
    collectors = [make(Where(f"where{i}", threads), Stats(), pool=pool) for i in range(5)]
    for _ in range(3):
        rounds = await asyncio.gather(*(c.collect(0) for c in collectors))
        assert all(len(points) == 1 for points in rounds)
    pool.stop()
    assert len(threads) == 15 and set(threads) == {"hostpulse-sources-1"}


async def test_a_slow_source_is_moved_off_the_shared_thread_before_its_timeout():
    """A source blocked (well within its timeout) while others queue behind it: they run anyway,
    and from then on it has a thread of its own."""
    gate = threading.Event()
    threads: list[str] = []

    class Slow(Source):
        name = "slow"

        def collect(self):
            threads.append(threading.current_thread().name)
            gate.wait(30)
            return [Sample("slow.x", 1)]

    pool = Pool()
    stats = Stats()
    slow = make(Slow(), stats, timeout=60, pool=pool)
    others = [make(Where(f"where{i}", threads), stats, timeout=60, pool=pool) for i in range(3)]
    slow_round = asyncio.create_task(slow.collect(0))
    # The others finish while the slow one is still blocked: nothing waits for it.
    rounds = await asyncio.wait_for(asyncio.gather(*(c.collect(0) for c in others)), 30)
    assert all(len(points) == 1 for points in rounds)
    assert not slow_round.done() and slow.busy
    gate.set()
    assert len(await slow_round) == 1
    assert stats.errors == {}
    await slow.collect(0)
    assert threads[0] == "hostpulse-sources-1"
    assert set(threads[1:4]) == {"hostpulse-sources-2"}
    assert threads[4] == "hostpulse-source-slow"
    slow.close()
    pool.stop()


async def test_a_hung_source_times_out_and_keeps_the_thread_it_hangs_in():
    release.clear()
    threads: list[str] = []
    pool = Pool()
    stats = Stats()
    hangs = make(HangsSync(), stats, timeout=0.05, pool=pool)
    fast = make(Where("where", threads), stats, pool=pool)
    assert await hangs.collect(0) == []
    assert stats.errors[("hangs", "timeout")] == 1
    assert {t.name for t in threading.enumerate()} >= {"hostpulse-source-hangs"}
    assert len(await fast.collect(0)) == 1
    assert hangs.busy  # still hung: the scheduler skips its ticks (overrun)
    release.set()
    pool.stop()
    assert threads and "hostpulse-source-hangs" not in threads


def test_ticks_follow_the_wall_clock_even_when_it_is_set_back(monkeypatch):
    clock = [10_000]
    monkeypatch.setattr("hostpulse.agent.collect.scheduler.now_ms", lambda: clock[0])
    assert Scheduler._next(0, 1_000) == 11_000
    clock[0] = 10_999  # woke a hair before the tick it just collected
    assert Scheduler._next(11_000, 1_000) == 12_000
    clock[0] = 5_000  # the clock was set back a while: follow it, do not wait for 12 s to return
    assert Scheduler._next(12_000, 1_000) == 6_000
