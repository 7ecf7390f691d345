"""One request at a time per (host, batch_id): a reused batch_id changes nothing, even in flight.

The writer stores a batch's key in the same transaction as its points, so a retry that arrives
after the commit is answered ``duplicate`` without touching anything. A second request with the
same batch_id that arrived *before* that commit used to create its series and change units while
the first one was still queued: 30 posts of one batch_id at once, each with another unit for one
series and a new series of its own, answered one 200 and 29 ``duplicate: true``, yet left 30 new
series and the last post's unit (issue 18). Now the batch_id is claimed before anything is
resolved: a request that finds it claimed waits until the first one's batch is committed or
refused, then asks the database whether it is stored, as any retry does.

The claim lives in this hub's memory: an agent sticks to one hub, so its retry
reaches the hub that holds the first attempt (docs/scaling.md). Two hubs sharing one PostgreSQL still agree on
which content is *stored* (the key's unique index), not on who may create series first.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from quart import current_app


class Claim:
    """What a request holds while it owns its batch_id."""

    __slots__ = ("_queued",)

    def __init__(self) -> None:
        self._queued: asyncio.Future[Any] | None = None

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
        claim = Claim()
        deferred = False
        try:
            yield claim
        except asyncio.CancelledError:
            queued = claim._queued
            deferred = queued is not None and not queued.done()
            if queued is not None and deferred:
                queued.add_done_callback(lambda _: self._release(key, released))
            raise
        finally:
            if not deferred:
                self._release(key, released)

    def _release(self, key: tuple[int, str], released: asyncio.Event) -> None:
        if self._held.get(key) is released:
            del self._held[key]
        released.set()


def batch_claims() -> BatchClaims:
    """This app's claims, made with the first ingest request."""
    claims: BatchClaims = current_app.extensions.setdefault(
        "hostpulse.batch_claims", BatchClaims()
    )
    return claims
