"""Opening and closing the database. ``register_tortoise`` for Quart is broken in Tortoise 1.1.9
(every query in a request failed with "No TortoiseContext is currently active"), so the app calls
these from before_serving/after_serving, with the global fallback the other integrations enable."""

from __future__ import annotations

import os
from typing import Any

from tortoise import Tortoise, connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.backends.base.executor import EXECUTOR_CACHE

from hostpulse.hub.storage.migrations import migrate

MODELS = ["hostpulse.hub.storage.models", "hostpulse.hub.alerts.models"]


def tortoise_config(db_url: str) -> dict[str, Any]:
    return {
        "connections": {"default": db_url},
        "apps": {"models": {"models": MODELS, "default_connection": "default"}},
        "use_tz": False,
    }


async def open_database(db_url: str, *, create_schema: bool = True) -> None:
    """Connect, and with ``create_schema`` create or upgrade the schema (hostpulse.hub.storage.migrations)."""
    _private_sqlite_file(db_url)
    await Tortoise.init(config=tortoise_config(db_url), _enable_global_fallback=True)
    if create_schema:
        await migrate(connection())


async def close_database() -> None:
    await Tortoise.close_connections()
    # Tortoise caches each model's INSERT statement by connection name, not by dialect: a process
    # that opens SQLite and then PostgreSQL as "default" (tests, benches) would send "?" to asyncpg.
    EXECUTOR_CACHE.clear()


def _private_sqlite_file(db_url: str) -> None:
    """The SQLite file readable by its owner only (0600), created so before SQLite opens it: it
    holds every host's data and the token hashes. SQLite gives its -wal and -shm files the mode
    of the database file."""
    if not db_url.startswith("sqlite://"):
        return
    path = db_url.removeprefix("sqlite://").partition("?")[0]
    if not path or path == ":memory:":
        return
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    if os.stat(path).st_mode & 0o077:
        os.chmod(path, 0o600)


def connection() -> BaseDBAsyncClient:
    client: BaseDBAsyncClient = connections.get("default")
    return client


def dialect() -> str:
    """'sqlite' or 'postgres': the hot path writes raw SQL and must know the placeholder style."""
    return connection().capabilities.dialect
