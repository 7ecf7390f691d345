"""Agent tokens: each bound to one host, stored only as a hash, revocable."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from tortoise.transactions import in_transaction

from hostpulse.hub.storage.models import AgentToken, Host, ViewerToken
from hostpulse.hub.tasks import cancel
from hostpulse.wire import now_ms

log = logging.getLogger(__name__)

# Revocations are announced on this PostgreSQL channel, so every hub drops its cached lookups.
REVOKED_CHANNEL = "hostpulse_tokens_revoked"

TOKEN_PREFIX = "hp_"
VIEWER_PREFIX = "hpv_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def ensure_host(name: str) -> Host:
    host, _ = await Host.get_or_create(name=name, defaults={"first_seen": 0, "last_seen": 0})
    return host


async def create_token(host_name: str) -> str:
    """Make a new token for ``host_name`` (creating the host) and return it; only its hash is kept."""
    host = await ensure_host(host_name)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    await AgentToken.create(host=host, token_hash=hash_token(token), created_at=now_ms())
    return token


async def revoke_tokens(host_name: str) -> int:
    """Revoke every live token of ``host_name``; returns how many were revoked.

    On PostgreSQL the same transaction NOTIFYs every hub's TokenCache, delivered at commit."""
    async with in_transaction() as conn:
        count = await AgentToken.filter(host__name=host_name, revoked_at=None).using_db(
            conn
        ).update(revoked_at=now_ms())
        if conn.capabilities.dialect == "postgres":
            await conn.execute_query("SELECT pg_notify($1, $2)", [REVOKED_CHANNEL, host_name])
    return count


async def lookup_host(token_hash: str) -> Host | None:
    """The host a live token (given by its hash) is bound to, or None, from the database.

    The lookup is by the token's hash through a unique index, so its timing does not depend on how
    much of a guessed token is right; no string comparison of secrets happens here."""
    row = (
        await AgentToken.filter(token_hash=token_hash, revoked_at=None)
        .select_related("host")
        .first()
    )
    return row.host if row else None


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
        warned = False
        while True:
            try:
                conn = await asyncpg.connect(self._dsn)
                await conn.add_listener(REVOKED_CHANNEL, self._revoked)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                if not warned:
                    log.warning("token cache off (no LISTEN connection): %s", exc)
                    warned = True
                await asyncio.sleep(2)
                continue
            if warned:
                log.info("token cache on again")
                warned = False
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


async def host_for_token(token: str) -> Host | None:
    """The host a live token is bound to, or None: through the serving hub's TokenCache."""
    from hostpulse.hub.state import hub_state  # the state module imports the storage this one does

    return await hub_state().tokens.host(token)


async def create_viewer_token(name: str) -> str:
    """A new viewer token labelled ``name`` (a person or a tool); only its hash is kept."""
    token = VIEWER_PREFIX + secrets.token_urlsafe(32)
    await ViewerToken.create(name=name, token_hash=hash_token(token), created_at=now_ms())
    return token


async def revoke_viewer_tokens(name: str) -> int:
    return await ViewerToken.filter(name=name, revoked_at=None).update(revoked_at=now_ms())


async def viewer_for_token(token: str) -> ViewerToken | None:
    return await ViewerToken.filter(token_hash=hash_token(token), revoked_at=None).first()
