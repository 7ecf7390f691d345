"""Agent tokens: each bound to one host, stored only as a hash, revocable."""

from __future__ import annotations

from tortoise import connections
from tortoise.transactions import in_transaction

from hostpulse.hub.auth.hashing import hash_token, new_token
from hostpulse.hub.auth.hosts import ensure_host
from hostpulse.hub.auth.revocation_stamp import bump_stamp, stamp_path
from hostpulse.hub.storage.models import AgentToken
from hostpulse.wire import now_ms

# Revocations are announced on this PostgreSQL channel, so every hub drops its cached lookups.
REVOKED_CHANNEL = "hostpulse_tokens_revoked"

TOKEN_PREFIX = "hp_"


async def create_token(host_name: str) -> str:
    """Make a new token for ``host_name`` (creating the host) and return it; only its hash is kept."""
    host = await ensure_host(host_name)
    token = new_token(TOKEN_PREFIX)
    await AgentToken.create(host=host, token_hash=hash_token(token), created_at=now_ms())
    return token


async def revoke_tokens(host_name: str) -> int:
    """Revoke every live token of ``host_name``; returns how many were revoked.

    On PostgreSQL the same transaction NOTIFYs every hub's TokenCache, delivered at commit; on
    SQLite the revocation stamp beside the file is replaced once it is committed
    (hostpulse.hub.auth.revocation_stamp), which every hub on that file checks per lookup."""
    async with in_transaction() as conn:
        count: int = (
            await AgentToken.filter(host__name=host_name, revoked_at=None)
            .using_db(conn)
            .update(revoked_at=now_ms())
        )
        if conn.capabilities.dialect == "postgres":
            await conn.execute_query("SELECT pg_notify($1, $2)", [REVOKED_CHANNEL, host_name])
    stamp = stamp_path(getattr(connections.get("default"), "filename", ""))
    if stamp is not None:
        bump_stamp(stamp)
    return count
