"""Hubs on PostgreSQL cache agent tokens; a revocation still refuses the token at once, on every hub.

The cache (hub/auth/token_cache.py, TokenCache) is dropped by the NOTIFY that `hostpulse token revoke`
sends in its own transaction; without its LISTEN connection a hub caches nothing."""

from __future__ import annotations

import asyncio
import time

import asyncpg
import pytest

from tests.multihub.test_two_hubs import metric
from tests.support.hub_process import LiveHub, now_ms, run_cli

pytestmark = pytest.mark.postgres


def post(hub: LiveHub, host: str, token: str) -> int:
    batch = [{"metric": "cpu.percent", "unit": "%", "ts": [now_ms()], "values": [1.0]}]
    return hub.post_batch(host, batch, token=token).status_code


def warm(hubs: tuple[LiveHub, LiveHub], host: str, token: str) -> None:
    """Several accepted batches on each hub, so each has the token cached."""
    for hub in hubs:
        for _ in range(3):
            assert post(hub, host, token) == 200


def test_revoked_token_is_refused_at_once_by_both_hubs(hubs: tuple[LiveHub, LiveHub]) -> None:
    a = hubs[0]
    token = a.token("db-1")
    warm(hubs, "db-1", token)
    assert all(metric(hub, "token_cache_hits_total") >= 2 for hub in hubs)  # the cache serves
    assert "revoked 1 token" in run_cli("token", "revoke", "db-1", "--db", a.db).stdout
    # The very next request, on either hub: no grace period from the cache.
    assert [post(hub, "db-1", token) for hub in hubs] == [401, 401]
    fresh = run_cli("token", "create", "db-1", "--db", a.db).stdout.strip().splitlines()[-1]
    assert [post(hub, "db-1", fresh) for hub in hubs] == [200, 200]


LISTENERS = "FROM pg_stat_activity WHERE datname = $1 AND query LIKE 'LISTEN%'"


async def on_listeners(db_url: str, select: str) -> int:
    """Run ``SELECT <select> FROM <the hubs' LISTEN sessions>`` on the test's database."""
    conn = await asyncpg.connect(db_url.replace("postgres://", "postgresql://"))
    try:
        return await conn.fetchval(f"SELECT {select} {LISTENERS}", db_url.rsplit("/", 1)[1])
    finally:
        await conn.close()


def test_revocation_while_a_hub_lost_its_listen_connection_still_counts(
    hubs: tuple[LiveHub, LiveHub],
) -> None:
    """A NOTIFY sent while a hub is not listening is lost; the hub must not serve from its cache."""
    a = hubs[0]
    token = a.token("db-2")
    warm(hubs, "db-2", token)
    # Kill the hubs' LISTEN connections, as a PostgreSQL restart or a network cut would.
    assert asyncio.run(on_listeners(a.db, "count(pg_terminate_backend(pid))")) == 2
    run_cli("token", "revoke", "db-2", "--db", a.db)
    assert [post(hub, "db-2", token) for hub in hubs] == [401, 401]
    # Both hubs listen again (they reconnect every 2 s) and still refuse it.
    for _ in range(100):
        if asyncio.run(on_listeners(a.db, "count(*)")) == 2:
            break
        time.sleep(0.1)
    else:
        raise AssertionError("the hubs did not LISTEN again within 10 s")
    assert [post(hub, "db-2", token) for hub in hubs] == [401, 401]

