"""A batch_id held across hubs on PostgreSQL, from before its series are resolved until its
batch is committed or refused: the cross-hub half of hostpulse.hub.api.claims.

Several hubs on one PostgreSQL agree on which content of a batch_id is *stored* (the unique key
of ``ingested_batches``), but a request creates series and changes units before its commit. A
reuse of a batch_id in flight on another hub did so too: 30 posts of one batch_id split across two
hubs, each with a new series and another unit, left two new series and the losing post's unit
(tests/multihub/test_claims.py). Only such requests take this lock, which costs them two round
trips (try-lock and unlock: 0.21 ms median, 0.26 ms p95 on loopback, 2,000 pairs) beside the
queries they already make; a batch of known series changes nothing before its commit and keeps
the in-memory claim alone, at no cost.

A session advisory lock per (host id, batch_id), all on one connection of this hub's own, not the
pool's: a lock held per request on a pooled connection would take the pool's 5 connections from
the writer under a burst of new series (and asyncpg's reset of a returned connection drops its
locks). So the locks are taken with ``pg_try_advisory_lock`` and, when another hub holds one,
asked again after a short sleep: the other hub's request holds it until its batch is committed,
at most its writer's back-pressure bound plus the commit. Its key is the pair (``LOCK_CLASS``,
a 32-bit hash of host and batch_id): a space of its own, apart from the single-key locks of
migrations, maintenance and alerts. Two keys with one hash only wait for each other.
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

import asyncpg

from hostpulse.hub.storage.database import connection
from hostpulse.hub.storage.writer import WriteRefused

#: The first key of every batch lock: "HP" 0x4850 and 3, after MIGRATION_LOCK and ALERTS_LOCK.
LOCK_CLASS = 0x4850_0003
#: First and longest sleep between two tries of a lock another hub holds.
RETRY_S, RETRY_MAX_S = 0.005, 0.05
#: A lock another hub holds this long is answered 503 (its agent retries): that hub's request
#: holds it only until its batch is committed or refused, well under this.
WAIT_S = 10.0
#: Keys of asyncpg.connect that the pool's own (Tortoise's template) has and connect refuses.
_POOL_ONLY = ("min_size", "max_size", "loop", "max_queries", "max_inactive_connection_lifetime",
              "setup", "init", "reset")


def lock_key(host_id: int, batch_id: str) -> tuple[int, int]:
    digest = hashlib.blake2b(f"{host_id}:{batch_id}".encode(), digest_size=4).digest()
    return LOCK_CLASS, int.from_bytes(digest, "big", signed=True)


class CommitLocks:
    """This hub's session on PostgreSQL for the locks; on SQLite (one hub per file) nothing."""

    def __init__(self) -> None:
        self._conn: asyncpg.Connection | None = None
        self._turn = asyncio.Lock()  # one query at a time on the connection
        self._unlocks: set[asyncio.Task[None]] = set()

    async def acquire(self, host_id: int, batch_id: str) -> bool:
        """Wait until this hub holds the lock of ``batch_id``; False on SQLite (nothing held)."""
        if connection().capabilities.dialect != "postgres":
            return False
        key = lock_key(host_id, batch_id)
        deadline = asyncio.get_running_loop().time() + WAIT_S
        pause = RETRY_S
        while not await self._try(key):
            if asyncio.get_running_loop().time() > deadline:
                raise WriteRefused(
                    f"batch {batch_id!r} is being stored by another hub; retry later",
                    code="queue_full",
                    retry_after_s=1,
                )
            await asyncio.sleep(pause)
            pause = min(2 * pause, RETRY_MAX_S)
        return True

    def release(self, host_id: int, batch_id: str) -> None:
        """Let the lock go (from a done callback too: the query runs in a task of its own)."""
        self._spawn_unlock(lock_key(host_id, batch_id))

    async def close(self) -> None:
        """Close the session, which lets every lock it holds go."""
        if self._unlocks:
            await asyncio.gather(*self._unlocks, return_exceptions=True)
        async with self._turn:
            conn, self._conn = self._conn, None
            if conn is not None:
                await conn.close()

    async def _try(self, key: tuple[int, int]) -> bool:
        # Shielded: a request cancelled while the query is out must not leave a lock it was
        # granted held for ever on this session.
        query = asyncio.ensure_future(self._fetch("SELECT pg_try_advisory_lock($1, $2)", key))
        try:
            return await asyncio.shield(query)
        except asyncio.CancelledError:
            query.add_done_callback(lambda done: self._granted_to_nobody(done, key))
            raise

    def _granted_to_nobody(self, done: asyncio.Future[bool], key: tuple[int, int]) -> None:
        if not done.cancelled() and done.exception() is None and done.result():
            self._spawn_unlock(key)

    def _spawn_unlock(self, key: tuple[int, int]) -> None:
        task = asyncio.ensure_future(self._unlock(key))
        self._unlocks.add(task)
        task.add_done_callback(self._unlocks.discard)

    async def _unlock(self, key: tuple[int, int]) -> None:
        try:
            await self._fetch("SELECT pg_advisory_unlock($1, $2)", key)
        except WriteRefused:
            pass  # the session is gone, and its locks with it

    async def _fetch(self, sql: str, key: tuple[int, int]) -> bool:
        async with self._turn:
            try:
                if self._conn is None or self._conn.is_closed():
                    self._conn = await _connect()
                return bool(await self._conn.fetchval(sql, *key))
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                conn, self._conn = self._conn, None
                if conn is not None:
                    conn.terminate()
                raise WriteRefused(
                    f"storage unavailable: {exc.__class__.__name__}",
                    code="storage_unavailable",
                    retry_after_s=2,
                ) from exc


async def _connect() -> asyncpg.Connection:
    """A connection with the parameters of Tortoise's pool (hostpulse.hub.storage.database)."""
    client: Any = connection()
    params = {k: v for k, v in client._template.items() if k not in _POOL_ONLY}
    conn: asyncpg.Connection = await asyncpg.connect(password=client.password, **params)
    return conn
