"""Agent tokens: each bound to one host, stored only as a hash, revocable."""

from __future__ import annotations

import hashlib
import secrets
import time

from hub.storage.models import AgentToken, Host, ViewerToken

TOKEN_PREFIX = "hp_"
VIEWER_PREFIX = "hpv_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def now_ms() -> int:
    return int(time.time() * 1000)


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
    """Revoke every live token of ``host_name``; returns how many were revoked."""
    return await AgentToken.filter(host__name=host_name, revoked_at=None).update(
        revoked_at=now_ms()
    )


async def host_for_token(token: str) -> Host | None:
    """The host a live token is bound to, or None.

    The lookup is by the token's hash through a unique index, so its timing does not depend on how
    much of a guessed token is right; no string comparison of secrets happens here."""
    row = (
        await AgentToken.filter(token_hash=hash_token(token), revoked_at=None)
        .select_related("host")
        .first()
    )
    return row.host if row else None


async def create_viewer_token(name: str) -> str:
    """A new viewer token labelled ``name`` (a person or a tool); only its hash is kept."""
    token = VIEWER_PREFIX + secrets.token_urlsafe(32)
    await ViewerToken.create(name=name, token_hash=hash_token(token), created_at=now_ms())
    return token


async def revoke_viewer_tokens(name: str) -> int:
    return await ViewerToken.filter(name=name, revoked_at=None).update(revoked_at=now_ms())


async def viewer_for_token(token: str) -> ViewerToken | None:
    return await ViewerToken.filter(token_hash=hash_token(token), revoked_at=None).first()
