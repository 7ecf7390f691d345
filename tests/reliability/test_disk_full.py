"""The database unavailable because the disk is full, simulated on SQLite with max_page_count.

``sqlite://FILE?max_page_count=N`` (Tortoise turns URL parameters into PRAGMAs) caps the file at
N pages: a write that needs one more page fails with SQLite's own "database or disk is full", the
error a full disk gives, with no need to fill a real filesystem shared with other tests."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from tests.reliability.fleet import (
    FleetAgent,
    assert_replayed_exactly_once,
    wait_delivering,
    wait_until,
)
from tests.reliability.scenarios import scenario
from tests.support.hub_process import now_ms, start_hub

FULL_S = 3.0


def known(points: int = 1) -> list[dict]:
    """Five known series of ``points`` each: the hub takes at most 1,000 points a series a batch."""
    start = now_ms() - points
    return [{"metric": f"probe.known{i}", "ts": list(range(start, start + points)),
             "values": [float(n) for n in range(points)]} for i in range(5)]


def page_count(db_url: str) -> int:
    connection = sqlite3.connect(db_url.removeprefix("sqlite://"))
    try:
        return connection.execute("PRAGMA page_count").fetchone()[0]
    finally:
        connection.close()


@scenario(
    done="two real agents delivering; the hub restarted on the same file capped two pages above "
         "its size (max_page_count) and filled by large batches until a write failed (disk full); "
         f"kept full for {FULL_S:g} s more, then restarted without the cap (space freed); agents "
         "stopped with SIGTERM",
    checked="while full, ingest of known series is answered 503 storage_unavailable with "
            "Retry-After ('database or disk is full' in the hub's log) and the agents spool; after "
            "space is freed every series of every agent holds exactly 1..N",
)
def test_disk_full_answers_503_and_everything_arrives_after(tmp_path: Path) -> None:
    hub = start_hub(tmp_path / "hub")
    port = int(hub.url.rsplit(":", 1)[1])
    db = hub.db
    agents = [FleetAgent(hub, f"full-{i}", tmp_path / f"agent-{i}") for i in range(2)]
    for agent in agents:
        agent.start()
    try:
        wait_delivering(hub, agents)
        assert hub.post_batch("probe", known()).status_code == 200  # token and series exist
        hub.stop()
        hub = start_hub(tmp_path / "hub", db=f"{db}?max_page_count={page_count(db) + 2}", port=port)
        for _ in range(50):  # fill what room is left in the file's pages
            response = hub.post_batch("probe", known(1000))
            if response.status_code != 200:
                break
        assert response.status_code == 503, response.text
        assert response.json()["error"]["code"] == "storage_unavailable"
        assert float(response.headers["Retry-After"]) > 0
        wait_until(lambda: all(a.spool_segments() for a in agents), "the agents to spool")
        time.sleep(FULL_S)
        assert "database or disk is full" in hub.log()
        assert all(a.spool_segments() for a in agents)
        hub.stop()
        hub = start_hub(tmp_path / "hub", db=db, port=port)
        assert_replayed_exactly_once(hub, agents)
    finally:
        for agent in agents:
            agent.stop_if_running()
        hub.stop()
