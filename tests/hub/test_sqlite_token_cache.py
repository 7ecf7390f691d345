"""The agent-token cache on SQLite: lookups cached, and a revocation by another connection seen
at the next lookup through the stamp file that revoke_tokens replaces."""

from __future__ import annotations

from pathlib import Path

from hostpulse.hub.auth.agent_tokens import create_token, revoke_tokens
from hostpulse.hub.auth.sqlite_token_cache import SqliteTokenCache, token_cache_for
from hostpulse.hub.auth.token_cache import TokenCache
from hostpulse.hub.storage.database import close_database, open_database


async def test_cached_until_revoked(tmp_path: Path) -> None:
    db = tmp_path / "hub.sqlite3"
    await open_database(f"sqlite://{db}")
    try:
        token = await create_token("web-1")
        cache = token_cache_for(f"sqlite://{db}")
        assert isinstance(cache, SqliteTokenCache)
        first = await cache.host(token)
        assert first is not None and first.name == "web-1"
        assert cache.hits == 0
        assert (await cache.host(token)) is not None
        assert cache.hits == 1  # the second lookup did not ask the database

        assert await revoke_tokens("web-1") == 1
        assert Path(f"{db}-revoked").exists()
        assert await cache.host(token) is None  # the stamp changed: the cache was emptied
        assert cache.hits == 1

        again = await create_token("web-1")  # a second revocation replaces the stamp again
        assert await cache.host(again) is not None and await cache.host(again) is not None
        assert await revoke_tokens("web-1") == 1
        assert await cache.host(again) is None
    finally:
        await close_database()


def test_in_memory_and_postgres_keep_their_own_rules() -> None:
    memory = token_cache_for("sqlite://:memory:")
    assert isinstance(memory, SqliteTokenCache) and not memory.live  # nobody else can revoke
    assert type(token_cache_for("postgres://root@127.0.0.1:5432/x")) is TokenCache
