"""Agent token -> host, cached in each hub and emptied by every revocation, on PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from hostpulse.backoff import Backoff
from hostpulse.hub.auth.agent_tokens import REVOKED_CHANNEL
from hostpulse.hub.auth.hashing import hash_token
from hostpulse.hub.auth.hosts import lookup_host
from hostpulse.hub.storage.models import Host
from hostpulse.hub.tasks import cancel

log = logging.getLogger(__name__)


class TokenCache:
    """Agent token → host, so an ingest does not cost a database round trip (it was a fifth of
    the hub's CPU under bench/multihub.py), with revocation still taking effect at once.

    Only on PostgreSQL, where ``revoke_tokens`` NOTIFYs :data:`REVOKED_CHANNEL` in its own
    transaction and this cache LISTENs on a connection of its own: a revocation committed by any
    process empties every hub's cache as it commits. Without that connection (SQLite, or
    PostgreSQL unreachable) nothing is cached and every lookup asks the database. Unknown tokens are
    never cached; entries also expire after ``ttl_s`` as a backstop."""

    def __init__(self, db_url: str, ttl_s: float = 300.0) -> None:
        self._dsn = _asyncpg_dsn(db_url)
        self._ttl_s = ttl_s
        self._entries: dict[str, tuple[Host, float]] = {}
        self._generation = 0  # bumped by every revocation: a lookup racing one is not cached
        self._listener: asyncpg.Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self.hits = 0

    @property
    def live(self) -> bool:
        return self._listener is not None and not self._listener.is_closed()

    def start(self) -> None:
        if self._dsn is not None:
            self._task = asyncio.create_task(self._listen_forever(), name="token-cache")

    async def stop(self) -> None:
        await cancel(self._task)
        self._task = None
        if self._listener is not None:
            self._listener.terminate()  # not close(): it would wait on a server that may be gone
            self._listener = None
        self._entries.clear()

    async def host(self, token: str) -> Host | None:
        token_hash = hash_token(token)
        hit = self._entries.get(token_hash) if self.live else None
        if hit is not None and hit[1] > time.monotonic():
            self.hits += 1
            return hit[0]
        generation = self._generation
        host = await lookup_host(token_hash)
        if host is not None and self.live and generation == self._generation:
            self._entries[token_hash] = (host, time.monotonic() + self._ttl_s)
        return host

    def _revoked(self, *_: Any) -> None:
        self._generation += 1
        self._entries.clear()

    async def _listen_forever(self) -> None:
        # Up to 2 s apart: while the listener is down every lookup goes to the database.
        backoff = Backoff(base=0.25, cap=2.0)
        while True:
            try:
                conn = await asyncpg.connect(self._dsn)
                await conn.add_listener(REVOKED_CHANNEL, self._revoked)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                if not backoff.failing:
                    log.warning("token cache off (no LISTEN connection): %s", exc)
                await asyncio.sleep(backoff.next())
                continue
            if backoff.failing:
                log.info("token cache on again")
                backoff.reset()
            lost = asyncio.Event()
            conn.add_termination_listener(lambda _conn, lost=lost: lost.set())
            self._listener = conn
            await lost.wait()
            # Revocations sent while the connection was down were missed: forget everything.
            self._listener = None
            self._revoked()


def _asyncpg_dsn(db_url: str) -> str | None:
    """The PostgreSQL DSN of a Tortoise URL without its query (pool options Tortoise reads,
    which asyncpg would take for server settings); None for SQLite."""
    parts = urlsplit(db_url)
    if parts.scheme not in ("postgres", "postgresql", "asyncpg"):
        return None
    return urlunsplit(("postgresql", parts.netloc, parts.path, "", ""))
