"""The running agent: scheduler → batcher → delivery, and a clean stop on SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from pathlib import Path

import httpx

from hostpulse.agent.collect.point import CheckedSample
from hostpulse.agent.collect.scheduler import Collector, Scheduler
from hostpulse.agent.config import AgentConfig
from hostpulse.agent.deliver.batch import Batcher
from hostpulse.agent.deliver.clock import ClockCheck
from hostpulse.agent.deliver.deadletter import DeadLetter
from hostpulse.agent.deliver.delivery import Delivery
from hostpulse.agent.deliver.diskspool import DiskSpool
from hostpulse.agent.deliver.sender import Sender
from hostpulse.agent.deliver.spool import MemorySpool, Spool
from hostpulse.agent.deliver.statelock import StateDirLock
from hostpulse.agent.secret import Secret
from hostpulse.agent.stats import Stats

log = logging.getLogger("hostpulse.agent")


def open_spool(config: AgentConfig, stats: Stats) -> Spool:
    """The on-disk spool in ``state_dir``; in memory (with a warning) when that is not writable."""
    directory = config.state_dir / "spool"
    try:
        return DiskSpool(directory, config.spool_max_bytes, stats)
    except OSError as exc:
        log.warning("cannot use %s for the spool (%s); batches wait in memory only", directory, exc)
        return MemorySpool(config.spool_max_bytes, stats)


class Agent:
    """Wires the pieces together for one run."""

    def __init__(
        self,
        config: AgentConfig,
        collectors: list[Collector],
        stats: Stats,
        token: Secret,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        assert config.hub is not None
        self.config = config
        self.stats = stats
        self.batcher = Batcher(config.host, config.batch_max_samples, config.batch_max_age, config.hub)
        self.scheduler = Scheduler(collectors, self._sink)
        clock = ClockCheck(config.clock_warn_s, stats)
        self.sender = Sender(config.hub, token, transport=transport, clock=clock)
        # Before the spool: a second agent on this state dir must not touch the first one's files.
        self.state_lock = StateDirLock.acquire(Path(config.state_dir))
        self.spool = open_spool(config, stats)
        deadletter = DeadLetter(Path(config.state_dir) / "deadletter.jsonl")
        self.delivery = Delivery(self.sender, self.spool, deadletter, stats, host=config.host, hub=config.hub)
        self._filled = asyncio.Event()

    def _sink(self, points: list[CheckedSample]) -> None:
        for batch in self.batcher.add(points):
            self.delivery.put(batch)
        if len(self.batcher):
            self._filled.set()

    async def _flusher(self) -> None:
        while True:
            if not len(self.batcher):
                self._filled.clear()
                await self._filled.wait()
            await asyncio.sleep(max(0.0, self.batcher.max_age - self.batcher.age()))
            if self.batcher.due():
                self._seal()

    def _seal(self) -> None:
        batch = self.batcher.seal()
        if batch is not None:
            self.delivery.put(batch)

    async def run(self, stop: asyncio.Event) -> bool:
        """Run until ``stop`` is set, then flush: memory to the hub if it answers, else the spool.

        Returns False when a part of the agent failed (a bug), so the process can exit non-zero.
        """
        names = ", ".join(c.name for c in self.scheduler.collectors) or "none"
        log.info("agent for host %s sending to %s; sources: %s", self.config.host, self.sender.url, names)
        tasks = [
            asyncio.create_task(self.scheduler.run(), name="scheduler"),
            asyncio.create_task(self._flusher(), name="flusher"),
            asyncio.create_task(self.delivery.run(), name="delivery"),
        ]
        waiter = asyncio.create_task(stop.wait())
        healthy = True
        try:
            done, _ = await asyncio.wait([waiter, *tasks], return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task is not waiter:
                    healthy = False
                    log.error("agent task %s stopped", task.get_name(), exc_info=task.exception())
        finally:
            # Collections under way finish and are batched; then the rest stops.
            self.scheduler.stop()
            longest = max((c.timeout for c in self.scheduler.collectors), default=0.0)
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError, Exception):
                await asyncio.wait_for(asyncio.shield(tasks[0]), min(longest, self.config.shutdown_timeout))
            for task in [waiter, *tasks]:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            self._seal()
            log.info("stopping: flushing %d batch(es)", self.delivery.pending())
            await self.delivery.drain(self.config.shutdown_timeout)
            self.spool.close()
            await self.sender.aclose()
            self.scheduler.close()
            self.state_lock.release()
        return healthy


def install_signal_handlers(stop: asyncio.Event) -> None:
    """SIGTERM and SIGINT ask the agent to flush and exit 0."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
