"""The scheduler: every source on its own interval, aligned to wall-clock ticks, each isolated.

A source with a 5 s interval collects at :00, :05, :10 … of the wall clock, on every host, so
charts of different machines line up. Samples without a ``ts`` get the tick's time. Each source
runs in its own task, with a timeout, so one that raises, hangs or floods never stops another; a
synchronous ``collect`` runs on the agent's shared source thread, and on a thread of its own once
it has been slow (agent/worker.py).
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import logging
import time
from collections.abc import AsyncIterable, Callable, Iterable, Sized
from dataclasses import dataclass
from typing import Any

from hostpulse.agent.collect.point import CheckedSample, Invalid, check_sample
from hostpulse.agent.collect.source import Sample, Source
from hostpulse.agent.collect.threads import Pool, Worker
from hostpulse.agent.stats import Stats

log = logging.getLogger("hostpulse.agent.scheduler")

Sink = Callable[[list[CheckedSample]], None]


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def next_tick(now: int, interval_ms: int) -> int:
    """The first multiple of ``interval_ms`` strictly after ``now`` (both epoch milliseconds)."""
    return (now // interval_ms + 1) * interval_ms


@dataclass
class Collector:
    """Runs one source's ``collect()`` once: timeout, sample cap, validation, counting."""

    name: str
    source: Source
    interval: float
    timeout: float
    max_samples: int
    stats: Stats
    #: Where a synchronous collect() runs; None: a thread of its own.
    pool: Pool | None = None

    def __post_init__(self) -> None:
        collect = type(self.source).collect
        self._async = inspect.isasyncgenfunction(collect) or inspect.iscoroutinefunction(collect)
        self._worker = None if self._async else Worker(self.name, self.pool)

    @property
    def busy(self) -> bool:
        return self._worker is not None and self._worker.busy

    def _take(self, result: Any) -> list[Any]:
        if result is None:
            return []
        if isinstance(result, Sample):
            return [result]
        taken = list(itertools.islice(iter(result), self.max_samples + 1))
        if len(taken) > self.max_samples:
            excess = len(result) - self.max_samples if isinstance(result, Sized) else 1
            self.stats.error(
                self.name, "too_many_samples",
                "collect() returned more than %d samples; the rest were dropped", self.max_samples,
            )
            self.stats.drop("too_many_samples", excess)
            del taken[self.max_samples:]
        return taken

    def _run_sync(self) -> Any:
        started = time.thread_time()
        try:
            result = self.source.collect()
            return result if inspect.isawaitable(result) else self._take(result)
        finally:
            # Only this thread's CPU: what the source itself costs, whatever else the agent does.
            cpu = self.stats.collect_cpu_seconds
            cpu[self.name] = cpu.get(self.name, 0.0) + time.thread_time() - started

    async def _run_async(self) -> list[Any]:
        collected = self.source.collect()
        if isinstance(collected, AsyncIterable):  # an async generator
            taken: list[Any] = []
            async for sample in collected:
                taken.append(sample)
                if len(taken) > self.max_samples:
                    break
            return self._take(taken)
        return self._take(await collected if inspect.isawaitable(collected) else collected)

    async def _raw(self) -> list[Any]:
        if self._worker is None:
            return await self._run_async()
        result = await self._worker.submit(self._run_sync)
        if inspect.isawaitable(result):  # a plain function that returned a coroutine
            return self._take(await result)
        taken: list[Any] = result  # _run_sync's list, or the awaitable handled above
        return taken

    async def collect(self, tick_ms: int) -> list[CheckedSample]:
        """Collect once; never raises (except cancellation): failures are logged and counted."""
        started = time.perf_counter()
        try:
            # asyncio.timeout, unlike wait_for, makes no extra task: this runs every tick.
            async with asyncio.timeout(self.timeout):
                raw = await self._raw()
        except TimeoutError:
            if self._worker is not None:
                self._worker.timed_out()
            self.stats.error(self.name, "timeout", "collect() took longer than %gs", self.timeout)
            return []
        except Exception as exc:  # noqa: BLE001 - user code: anything may come out
            self.stats.error(
                self.name, "exception", "collect() raised %s: %s", type(exc).__name__, exc,
                exc_info=exc,
            )
            return []
        finally:
            self.stats.collect_seconds[self.name] = time.perf_counter() - started
        return self.validate(raw, tick_ms)

    def validate(self, raw: Iterable[Any], tick_ms: int) -> list[CheckedSample]:
        points: list[CheckedSample] = []
        invalid = 0
        first = ""
        for sample in raw:
            try:
                points.append(check_sample(sample, tick_ms))
            except Invalid as exc:
                invalid += 1
                first = first or str(exc)
        if invalid:
            self.stats.error(
                self.name, "invalid_sample", "dropped %d invalid sample(s), first: %s", invalid, first,
                count=invalid,
            )
            self.stats.drop("invalid_sample", invalid)
        self.stats.samples[self.name] += len(points)
        return points

    def close(self) -> None:
        if self._worker is not None:
            self._worker.stop()
        try:
            self.source.close()
        except Exception as exc:  # noqa: BLE001 - user code
            log.warning("source %s: close() raised %s: %s", self.name, type(exc).__name__, exc)


class Scheduler:
    """Runs each collector on its interval and hands its points to ``sink``."""

    def __init__(self, collectors: list[Collector], sink: Sink) -> None:
        self.collectors = collectors
        self.sink = sink
        self._stopping = False
        self._sleeping: dict[str, asyncio.Task[None]] = {}

    async def run(self) -> None:
        """Run until ``stop()`` (collections under way finish first) or cancellation."""
        if not self.collectors:
            log.warning("no source is enabled: nothing to collect")
            await asyncio.Event().wait()  # idle until cancelled, like a scheduler with sources
        async with asyncio.TaskGroup() as group:
            for collector in self.collectors:
                group.create_task(self._loop(collector), name=f"source-{collector.name}")

    def stop(self) -> None:
        """No new ticks; sleeping loops end now, a loop in the middle of a collect after it."""
        self._stopping = True
        for task in self._sleeping.values():
            task.cancel()

    async def _loop(self, collector: Collector) -> None:
        interval_ms = max(1, round(collector.interval * 1000))
        tick = 0
        task = asyncio.current_task()
        assert task is not None
        while not self._stopping:
            tick = self._next(tick, interval_ms)
            self._sleeping[collector.name] = task
            try:
                await asyncio.sleep(max(0.0, (tick - now_ms()) / 1000))
            finally:
                del self._sleeping[collector.name]
            if collector.busy:
                collector.stats.error(
                    collector.name, "overrun", "the previous collect() is still running; tick skipped"
                )
                continue
            points = await collector.collect(tick)
            if points:
                try:
                    self.sink(points)
                except Exception:  # a bug of ours must not stop collection
                    log.exception("could not queue the points of source %s", collector.name)

    @staticmethod
    def _next(last: int, interval_ms: int) -> int:
        """The tick after ``last``: the next multiple of the interval on the wall clock."""
        tick = next_tick(now_ms(), interval_ms)
        # A sleep that woke a hair early must not collect the same tick twice; but when the clock
        # was set back by more than that, follow it rather than wait for the old time to return.
        if last - 2 * interval_ms < tick <= last:
            tick = last + interval_ms
        return tick

    def close(self) -> None:
        close_all(self.collectors)


def close_all(collectors: list[Collector]) -> None:
    """Close each collector's source and thread, then the shared pools they ran on."""
    for collector in collectors:
        collector.close()
    for pool in {id(c.pool): c.pool for c in collectors if c.pool is not None}.values():
        pool.stop()
