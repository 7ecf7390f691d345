"""Storage tests run against SQLite and, marked ``postgres``, against the PostgreSQL on
127.0.0.1:5432: a fresh database per test, dropped afterwards."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from hostpulse.hub.storage.database import close_database, open_database

PG_ADMIN = "postgres://root@127.0.0.1:5432/test"


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database URL nobody has used yet; nothing is opened."""
    if request.param == "sqlite":
        yield f"sqlite://{tmp_path / 'hub.sqlite3'}"
        return
    name = f"hp_test_{uuid.uuid4().hex[:12]}"
    try:
        asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.skip(f"no PostgreSQL at {PG_ADMIN}: {exc}")
    try:
        yield f"postgres://root@127.0.0.1:5432/{name}"
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[str]:
    """The database open (and migrated) through the hub's own open_database."""
    await open_database(db_url)
    try:
        yield db_url
    finally:
        await close_database()
