"""Viewer tokens: who may look at the dashboard and the read API, stored only as a hash."""

from __future__ import annotations

from hostpulse.hub.auth.hashing import hash_token, new_token
from hostpulse.hub.storage.models import ViewerToken
from hostpulse.wire import now_ms

VIEWER_PREFIX = "hpv_"


async def create_viewer_token(name: str) -> str:
    """A new viewer token labelled ``name`` (a person or a tool); only its hash is kept."""
    token = new_token(VIEWER_PREFIX)
    await ViewerToken.create(name=name, token_hash=hash_token(token), created_at=now_ms())
    return token


async def revoke_viewer_tokens(name: str) -> int:
    revoked: int = await ViewerToken.filter(name=name, revoked_at=None).update(revoked_at=now_ms())
    return revoked


async def viewer_for_token(token: str) -> ViewerToken | None:
    return await ViewerToken.filter(token_hash=hash_token(token), revoked_at=None).first()
