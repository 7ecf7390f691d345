"""The database unavailable: SQLite locked by another process holding BEGIN EXCLUSIVE."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.reliability.fleet import (
    FleetAgent,
    assert_replayed_exactly_once,
    wait_delivering,
    wait_until,
)
from tests.reliability.scenarios import scenario
from tests.support.hub_process import LiveHub, now_ms, start_hub

LOCKED_S = 4.0


@contextmanager
def exclusive_lock(hub: LiveHub) -> Iterator[None]:
    """Another process's write lock on the hub's SQLite file, as a stuck migration or backup would
    hold it (in WAL mode readers carry on; every writer gets 'database is locked')."""
    connection = sqlite3.connect(hub.db.removeprefix("sqlite://"), isolation_level=None)
    connection.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        connection.execute("ROLLBACK")
        connection.close()


def point(metric: str) -> list[dict]:
    return [{"metric": metric, "ts": [now_ms()], "values": [1.0]}]


@scenario(
    done=f"two real agents delivering; another process held BEGIN EXCLUSIVE on the hub's SQLite "
         f"file for {LOCKED_S:g} s, then released it; agents stopped with SIGTERM",
    checked="during the lock an ingest of known series is answered 503 storage_unavailable with "
            "Retry-After and the agents spool to disk; the hub answers /healthz and reads "
            "throughout; after release every series of every agent holds exactly 1..N",
)
def test_locked_sqlite_answers_503_and_everything_arrives_after_release(tmp_path: Path) -> None:
    hub = start_hub(tmp_path / "hub")
    agents = [FleetAgent(hub, f"locked-{i}", tmp_path / f"agent-{i}") for i in range(2)]
    assert hub.post_batch("probe", point("probe.known")).status_code == 200
    for agent in agents:
        agent.start()
    try:
        wait_delivering(hub, agents)
        with exclusive_lock(hub):
            probe = hub.post_batch("probe", point("probe.known"))
            assert probe.status_code == 503, probe.text
            assert probe.json()["error"]["code"] == "storage_unavailable"
            assert float(probe.headers["Retry-After"]) > 0
            wait_until(lambda: all(a.spool_segments() for a in agents), "the agents to spool")
            assert hub.get("/healthz").status_code == 200
            assert hub.get("/api/v1/hosts").status_code == 200
            time.sleep(LOCKED_S)
        assert_replayed_exactly_once(hub, agents)
        assert hub.post_batch("probe", point("probe.known")).status_code == 200
    finally:
        for agent in agents:
            agent.stop_if_running()
        hub.stop()


@scenario(
    done="another process held BEGIN EXCLUSIVE on the hub's SQLite file; a batch naming a series "
         "the hub had not seen yet was posted",
    checked="answered 503 storage_unavailable with Retry-After, like a batch of known series",
)
def test_new_series_while_locked_is_a_503_not_a_500(live_hub: LiveHub) -> None:
    assert live_hub.post_batch("probe", point("probe.known")).status_code == 200
    with exclusive_lock(live_hub):
        response = live_hub.post_batch("probe", point("probe.brand_new"))
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "storage_unavailable"
    assert "Retry-After" in response.headers
