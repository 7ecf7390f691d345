"""Delivery: every sealed batch reaches the hub once, oldest first, or is kept, or is dead-lettered.

While the hub answers, batches wait in memory and go straight out. The first failed POST marks the
hub down: the failed batch and everything behind it move to the spool (on disk unless configured
otherwise), and new batches are appended there too, so order is kept. The head of the queue is
retried with exponential backoff and jitter (``Retry-After`` wins when longer); once the hub is back
the spool is replayed oldest-first, then batches go through memory again. A batch leaves the queue
only when the hub has answered 2xx (it is committed) or refused it for good (dead letter). After a
crash the spool may resend a batch the hub already committed: its id makes that a duplicate the hub
ignores, so each sample is stored exactly once.

A batch keeps the identity (host, hub URL) it was collected under. One of another identity — the
host was renamed, another agent's spool, the agent now points at another hub — is dead-lettered
without being sent: its host's token is not this agent's, and its hub is not this one, so no
answer could take it, and it must not hold up the current host's batches behind it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque

from hostpulse.agent.deliver.batch import Batch, decode
from hostpulse.agent.deliver.deadletter import DeadLetter
from hostpulse.agent.deliver.refusals import RefusalLog
from hostpulse.agent.deliver.sender import WRONG_URL_STATUSES, Outcome, Result, Sender
from hostpulse.agent.deliver.spool import Spool
from hostpulse.agent.stats import Stats
from hostpulse.backoff import Backoff

log = logging.getLogger("hostpulse.agent.delivery")


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
        hub: str | None = None,
    ) -> None:
        self.sender = sender
        #: The identity this agent runs under now (None: not checked); see the module docstring.
        self.host = host
        self.hub = hub.rstrip("/") if hub else None
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
        self.refusals = RefusalLog(stats, deadletter.path)

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
            foreign = self._foreign(batch)
            if foreign is not None:
                self._refuse(batch, from_spool, *foreign)
                await asyncio.sleep(0)  # a spool of thousands must not starve the collectors
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
            self.refusals.flush()
            return True
        if result.outcome is Outcome.REJECTED:
            self._refuse(batch, from_spool, result.code or str(result.status), result.reason, result.status)
            return True
        self.stats.send_failures += 1
        self.down = True
        self._spill()
        return False

    def _refuse(self, batch: Batch, from_spool: bool, code: str, reason: str, status: int | None = None) -> None:
        """The batch is refused for good: to the dead-letter file, counted, and out of the way."""
        self._done(from_spool)
        self.deadletter.write(batch, status, reason)
        self.stats.dead_lettered += 1
        self.stats.drop("dead_letter", batch.samples)
        self.refusals.note(batch, code, reason)

    def _foreign(self, batch: Batch) -> tuple[str, str] | None:
        """(code, reason) when ``batch`` was collected under another identity than this agent's."""
        if self.hub is not None and batch.hub and batch.hub.rstrip("/") != self.hub:
            return "foreign_hub", f"collected for hub {batch.hub}, this agent now sends to {self.hub}"
        if self.host is None:
            return None
        # A record spooled before identities were kept says its host only in the body.
        collected_as = batch.host or decode(batch.body).get("host")
        if collected_as != self.host:
            return "foreign_host", f"collected as host {collected_as!r}, this agent is {self.host!r}"
        return None

    def _warn(self, result: Result, delay: float) -> None:
        now = time.monotonic()
        if now - self._last_warning < 30.0:
            return
        self._last_warning = now
        if result.status in WRONG_URL_STATUSES:
            log.error(
                "%s does not answer as a hub's ingest (%s): check the hub URL; "
                "%d batch(es) kept, retrying in %.1fs", self.sender.url, result.reason, self.pending(), delay,
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
            foreign = self._foreign(batch)
            if foreign is not None:
                self._refuse(batch, from_spool, *foreign)
                continue
            try:
                result = await asyncio.wait_for(self.sender.post(batch), deadline - time.monotonic())
            except TimeoutError:
                break
            if not self._settle(batch, from_spool, result):
                break
        self.refusals.flush()
        self._spill()
