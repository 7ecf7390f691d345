"""The database unavailable on PostgreSQL: the hub's database refuses connections for a while.

The PostgreSQL server is shared with other tests, so it is never stopped: the test's own database
is closed to connections (ALTER DATABASE … ALLOW_CONNECTIONS false, which binds superusers too)
and the hub's sessions are terminated, which is what a hub sees when the server goes away."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.reliability.fleet import (
    FleetAgent,
    assert_replayed_exactly_once,
    wait_delivering,
    wait_until,
)
from tests.reliability.scenarios import scenario
from tests.support.hub_process import LiveHub, now_ms, start_hub

pytestmark = pytest.mark.postgres

PG_ADMIN = "postgresql://root@127.0.0.1:5432/test"
DOWN_S = 4.0


def admin(sql: str, *args: object) -> object:
    async def run() -> object:
        connection = await asyncpg.connect(PG_ADMIN)
        try:
            return await connection.fetchval(sql, *args)
        finally:
            await connection.close()

    return asyncio.run(run())


@pytest.fixture
def pg_db() -> Iterator[str]:
    """A database of this test's own, dropped afterwards."""
    name = f"hp_test_{uuid.uuid4().hex[:12]}"
    admin(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def database_down(name: str) -> Iterator[None]:
    admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
    try:
        admin("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1",
              name)
        yield
    finally:
        admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')


def probe(hub: LiveHub) -> httpx.Response:
    return hub.post_batch("probe", [{"metric": "probe.known", "ts": [now_ms()], "values": [1.0]}])


@scenario(
    done=f"two real agents delivering to a hub on PostgreSQL; the hub's database refused "
         f"connections and its sessions were terminated for {DOWN_S:g} s, then reopened; agents "
         "stopped with SIGTERM",
    checked="during the outage ingest is refused (not 2xx) and the agents spool to disk; the hub "
            "process stays up; after the database is back, every series of every agent holds "
            "exactly 1..N",
)
def test_postgres_outage_spools_and_everything_arrives_after(tmp_path: Path, pg_db: str) -> None:
    hub = start_hub(tmp_path / "hub", db=f"postgres://root@127.0.0.1:5432/{pg_db}")
    agents = [FleetAgent(hub, f"pg-{i}", tmp_path / f"agent-{i}") for i in range(2)]
    hub.token("probe")  # `hostpulse token create` needs the database too
    for agent in agents:
        agent.start()
    try:
        wait_delivering(hub, agents)
        with database_down(pg_db):
            assert probe(hub).status_code >= 500
            wait_until(lambda: all(a.spool_segments() for a in agents), "the agents to spool")
            time.sleep(DOWN_S)
            assert hub.process.poll() is None
        assert_replayed_exactly_once(hub, agents)
    finally:
        for agent in agents:
            agent.stop_if_running()
        hub.stop()


@scenario(
    done="a hub on PostgreSQL; its database refused connections and its sessions were terminated; "
         "a batch of known series was posted",
    checked="answered 503 storage_unavailable with Retry-After, as the protocol says for an "
            "unavailable store",
)
def test_postgres_outage_is_a_503_not_a_500(tmp_path: Path, pg_db: str) -> None:
    hub = start_hub(tmp_path / "hub", db=f"postgres://root@127.0.0.1:5432/{pg_db}")
    try:
        assert probe(hub).status_code == 200
        with database_down(pg_db):
            response = probe(hub)
            health = hub.get("/healthz")
        assert health.status_code == 503, health.text  # a load balancer takes this hub out
        assert hub.get("/healthz").status_code == 200
        assert response.status_code == 503, response.text
        assert response.json()["error"]["code"] == "storage_unavailable"
        assert "Retry-After" in response.headers
    finally:
        hub.stop()
