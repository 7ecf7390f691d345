"""Delivery: every sealed batch reaches the hub once, oldest first, or is kept, or is dead-lettered.

While the hub answers, batches wait in memory and go straight out. The first failed POST marks the
hub down: the failed batch and everything behind it move to the spool (on disk unless configured
otherwise), and new batches are appended there too, so order is kept. The head of the queue is
retried with exponential backoff and jitter (``Retry-After`` wins when longer); once the hub is back
the spool is replayed oldest-first, then batches go through memory again. A batch leaves the queue
only when the hub has answered 2xx (it is committed) or refused it as invalid (dead letter). After a
crash the spool may resend a batch the hub already committed: its id makes that a duplicate the hub
ignores, so each sample is stored exactly once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from typing import Protocol

from hostpulse.agent.deliver.batch import Batch, decode
from hostpulse.agent.deliver.deadletter import DeadLetter
from hostpulse.agent.deliver.sender import CONFIG_STATUSES, Backoff, Outcome, Result, Sender
from hostpulse.agent.stats import Stats

log = logging.getLogger("hostpulse.agent.delivery")


class Spool(Protocol):
    """A FIFO of batches; ``append`` may drop the oldest when full and count it in ``stats``."""

    def __len__(self) -> int: ...
    def append(self, batch: Batch) -> None: ...
    def peek(self) -> Batch | None: ...
    def ack(self) -> None: ...
    def close(self) -> None: ...


class Delivery:
    def __init__(
        self,
        sender: Sender,
        spool: Spool,
        deadletter: DeadLetter,
        stats: Stats,
        *,
        memory_bytes: int = 8 * 1024 * 1024,
        backoff: Backoff | None = None,
        host: str | None = None,
    ) -> None:
        self.sender = sender
        #: The identity this agent runs under now; spooled batches keep the host they were
        #: collected as, so a refusal of an older identity's batch cannot block this one's.
        self.host = host
        self.spool = spool
        self.deadletter = deadletter
        self.stats = stats
        self.memory_bytes = memory_bytes
        self.backoff = backoff or Backoff()
        self.down = False
        self._memory: deque[Batch] = deque()
        self._memory_size = 0
        self._wake = asyncio.Event()
        self._last_warning = 0.0

    def pending(self) -> int:
        """Batches not yet acknowledged by the hub (memory and spool)."""
        return len(self._memory) + len(self.spool)

    def put(self, batch: Batch) -> None:
        """Queue a sealed batch behind every older one."""
        if self.down or len(self.spool):
            self.spool.append(batch)
        else:
            self._memory.append(batch)
            self._memory_size += len(batch.body)
            if self._memory_size > self.memory_bytes:
                self._spill()
        self._wake.set()

    def _spill(self) -> None:
        while self._memory:
            self.spool.append(self._memory.popleft())
        self._memory_size = 0

    def _head(self) -> tuple[Batch | None, bool]:
        if len(self.spool):
            return self.spool.peek(), True
        if self._memory:
            return self._memory[0], False
        return None, False

    def _done(self, from_spool: bool) -> None:
        if from_spool:
            self.spool.ack()
        else:
            batch = self._memory.popleft()
            self._memory_size -= len(batch.body)

    async def run(self) -> None:
        """Deliver forever (until cancelled)."""
        while True:
            batch, from_spool = self._head()
            if batch is None:
                self._wake.clear()
                await self._wake.wait()
                continue
            result = await self.sender.post(batch)
            if self._settle(batch, from_spool, result):
                continue
            delay = self.backoff.next(result.retry_after)
            self._warn(result, delay)
            await asyncio.sleep(delay)

    def _settle(self, batch: Batch, from_spool: bool, result: Result) -> bool:
        """Account for one answer; True when the batch left the queue."""
        if result.outcome is Outcome.OK:
            self._done(from_spool)
            self.stats.batches_sent += 1
            self.stats.samples_sent += batch.samples
            if self.down:
                log.info("hub is reachable again; %d batch(es) to replay", len(self.spool))
            self.down = False
            self.backoff.reset()
            return True
        stale = self._stale_identity(batch, result)
        if stale is not None:
            result = Result(Outcome.REJECTED, result.status, stale)
        if result.outcome is Outcome.REJECTED:
            self._done(from_spool)
            self.deadletter.write(batch, result.status, result.reason)
            self.stats.dead_lettered += 1
            self.stats.drop("dead_letter", batch.samples)
            log.error(
                "hub refused batch %s (%d samples) as invalid: %s; kept in %s",
                batch.batch_id, batch.samples, result.reason, self.deadletter.path,
            )
            return True
        self.stats.send_failures += 1
        self.down = True
        self._spill()
        return False

    def _stale_identity(self, batch: Batch, result: Result) -> str | None:
        """Why a batch refused for this agent's identity (401/403) is refused for good: it was
        collected as another host (renamed host, another agent's spool), so no retry can pass."""
        if self.host is None or result.status not in CONFIG_STATUSES:
            return None
        collected_as = decode(batch.body).get("host")
        if collected_as == self.host:
            return None
        return f"collected as host {collected_as!r}, this agent is {self.host!r}: {result.reason}"

    def _warn(self, result: Result, delay: float) -> None:
        now = time.monotonic()
        if now - self._last_warning < 30.0:
            return
        self._last_warning = now
        if result.status in CONFIG_STATUSES:
            log.error(
                "the hub refuses this agent (%s): check the token, the host name and the hub URL; "
                "%d batch(es) kept, retrying in %.1fs", result.reason, self.pending(), delay,
            )
        else:
            log.warning(
                "hub unreachable (%s); %d batch(es) queued, retrying in %.1fs",
                result.reason or result.status, self.pending(), delay,
            )

    async def drain(self, timeout: float) -> None:
        """On shutdown: keep delivering, oldest first, while the hub answers and ``timeout`` lasts;
        what is left in memory then goes to the spool."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            batch, from_spool = self._head()
            if batch is None:
                break
            try:
                result = await asyncio.wait_for(self.sender.post(batch), deadline - time.monotonic())
            except TimeoutError:
                break
            if not self._settle(batch, from_spool, result):
                break
        self._spill()
