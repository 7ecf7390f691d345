"""Token secrets: how one is made and the only form of it the hub keeps (its SHA-256)."""

from __future__ import annotations

import hashlib
import secrets


def hash_token(token: str) -> str:
    """The stored form of a token. A fast hash is enough: tokens are 256 random bits, not
    passwords, so there is nothing for a slow hash to protect against guessing."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token(prefix: str) -> str:
    """A fresh token: ``prefix`` (which kind it is, readable in logs and configs) + 32 random bytes."""
    return prefix + secrets.token_urlsafe(32)
