"""One request at a time per (host, batch_id): a reused batch_id changes nothing, even in flight.

The writer stores a batch's key in the same transaction as its points, so a retry that arrives
after the commit is answered ``duplicate`` without touching anything. A second request with the
same batch_id that arrived *before* that commit used to create its series and change units while
the first one was still queued: 30 posts of one batch_id at once, each with another unit for one
series and a new series of its own, answered one 200 and 29 ``duplicate: true``, yet left 30 new
series and the last post's unit (issue 18). Now the batch_id is claimed before anything is
resolved: a request that finds it claimed waits until the first one's batch is committed or
refused, then asks the database whether it is stored, as any retry does.

The claim lives in this hub's memory, and a request about to create series or change a unit
(the only side effects before the commit) also takes the batch_id's lock across hubs on
PostgreSQL (hostpulse.hub.storage.commit_locks) and asks again whether it is stored: an agent that
times out on one hub and retries on another used to race its own first attempt there. A batch of
known series takes no such lock, so that its request costs no query; the one case left is a
known-series attempt on one hub and a new-series attempt of the same batch_id on another at
once, whichever commits first: it needs an agent to change a batch's series between two of its
attempts.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from hostpulse.hub.storage.commit_locks import CommitLocks


class Claim:
    """What a request holds while it owns its batch_id."""

    __slots__ = ("_across", "_key", "_locks", "_queued")

    def __init__(self, locks: CommitLocks, key: tuple[int, str]) -> None:
        self._queued: asyncio.Future[Any] | None = None
        self._locks, self._key = locks, key
        self._across = False

    async def across_hubs(self) -> None:
        """Hold the batch_id against other hubs on the same database too, until the claim ends:
        before anything of the batch is created or changed. Then ask whether it is stored."""
        if not self._across:
            self._across = await self._locks.acquire(*self._key)

    def _end(self) -> None:
        if self._across:
            self._across = False
            self._locks.release(*self._key)

    def until(self, done: asyncio.Future[Any]) -> None:
        """Keep the claim past the request until ``done`` (the queued batch's commit) resolves:
        a client that hangs up cancels its request, not the batch the writer holds for it.
        Call it just before handing the batch to the writer, with no await in between."""
        self._queued = done


class BatchClaims:
    """The (host id, batch_id) pairs that requests of this hub hold, each with the event that
    its waiters wake on."""

    def __init__(self) -> None:
        self._held: dict[tuple[int, str], asyncio.Event] = {}
        self.locks = CommitLocks()

    def __len__(self) -> int:
        return len(self._held)

    @asynccontextmanager
    async def hold(self, host_id: int, batch_id: str) -> AsyncIterator[Claim]:
        """Own ``batch_id`` of ``host_id`` for the ``with`` block, waiting while another request
        owns it. A cancelled block whose batch is queued keeps the claim until that batch's
        commit; any other way out lets it go at once (a batch refused before the queue, or a
        full queue, never reaches the writer, so nothing would resolve it)."""
        key = (host_id, batch_id)
        while (held := self._held.get(key)) is not None:
            await held.wait()  # an Event: a waiter that is cancelled cancels nothing of the owner's
        released = asyncio.Event()
        self._held[key] = released
        claim = Claim(self.locks, key)
        deferred = False
        try:
            yield claim
        except asyncio.CancelledError:
            queued = claim._queued
            deferred = queued is not None and not queued.done()
            if queued is not None and deferred:
                queued.add_done_callback(lambda _: self._release(key, released, claim))
            raise
        finally:
            if not deferred:
                self._release(key, released, claim)

    async def close(self) -> None:
        """Let the locks across hubs go: when the hub stops."""
        await self.locks.close()

    def _release(self, key: tuple[int, str], released: asyncio.Event, claim: Claim) -> None:
        claim._end()
        if self._held.get(key) is released:
            del self._held[key]
        released.set()
