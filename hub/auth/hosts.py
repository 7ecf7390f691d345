"""Hosts as tokens see them: the host a live token is bound to, and a host made on first use."""

from __future__ import annotations

from hostpulse.hub.storage.models import AgentToken, Host


async def ensure_host(name: str) -> Host:
    host, _ = await Host.get_or_create(name=name, defaults={"first_seen": 0, "last_seen": 0})
    return host


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
