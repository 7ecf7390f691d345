"""Services for the multi-hub tests: a fresh PostgreSQL database and a private Redis key prefix
per test, on the PostgreSQL (127.0.0.1:5432, trust auth) and Redis (127.0.0.1:6379) of the machine."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
import redis.asyncio as aioredis

from tests.support.hub_process import LiveHub, start_hub

PG_ADMIN = "postgresql://root@127.0.0.1:5432/test"
REDIS = "redis://127.0.0.1:6379/0"


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    """``postgres://…`` of a database made for this test, dropped afterwards."""
    name = f"hp_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(PG_ADMIN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield f"postgres://root@127.0.0.1:5432/{name}"
        # FORCE: a SIGKILLed hub may leave a session behind for a moment.
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    """A key prefix no other test or hub uses; its keys are deleted afterwards."""
    prefix = f"hp-test-{uuid.uuid4().hex[:12]}"
    yield prefix
    client = aioredis.from_url(REDIS)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}:*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@pytest.fixture
def redis_url(redis_prefix: str) -> str:
    return f"{REDIS}?prefix={redis_prefix}"


@pytest.fixture
def hubs(tmp_path: Path, pg_url: str, redis_url: str) -> Iterator[tuple[LiveHub, LiveHub]]:
    """Two real hub processes on one PostgreSQL database, sharing the live view through Redis."""
    args = ("--redis", redis_url)
    a = start_hub(tmp_path / "a", db=pg_url, extra_args=args)
    try:
        b = start_hub(tmp_path / "b", db=pg_url, extra_args=args)
        b.tokens = a.tokens  # one database: a token made through either works on both
        try:
            yield a, b
        finally:
            b.stop()
    finally:
        a.stop()
