"""Back-pressure through a served hub: a writer that cannot keep up refuses new batches with
503 + Retry-After while it is still stuck, and every batch it acknowledged is stored once."""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.hub_process import LiveHub, make_batch, now_ms, start_hub

HOST = "pressed"
SERIES = 5


@dataclass
class Answer:
    batch: dict[str, object]
    status: int
    code: str
    retry_after: str | None
    while_stalled: bool  # the database was still locked when this answer arrived


def batch(t: int) -> dict[str, object]:
    series = [{"metric": f"press.s{i}", "ts": [t], "values": [float(i)]} for i in range(SERIES)]
    return make_batch(HOST, series, batch_id=uuid.uuid4().hex)


def post(client: httpx.Client, hub: LiveHub, body: dict[str, object]) -> httpx.Response:
    return client.post(f"{hub.url}/api/v1/ingest", json=body,
                       headers={"Authorization": f"Bearer {hub.token(HOST)}"})


def stored(hub: LiveHub) -> list[list[float]]:
    """Every stored point of the first series, in time order."""
    (first,) = [s for s in hub.get("/api/v1/series", host=HOST).json()["series"]
                if s["metric"] == "press.s0"]
    return hub.get(f"/api/v1/series/{first['id']}/points", max_points=100_000).json()["points"]


def test_a_stalled_writer_refuses_at_once_and_loses_nothing_it_accepted(tmp_path: Path) -> None:
    hub = start_hub(tmp_path, env={"HOSTPULSE_RATE_LIMIT_PER_S": "0"})
    try:
        start = now_ms() - 600_000
        with httpx.Client(timeout=30) as client:  # series created, token made: nothing else writes
            assert post(client, hub, batch(start)).status_code == 200
        # Another connection holds SQLite's write lock: the writer's next commit waits on it
        # (up to the driver's 5 s busy timeout), as behind a disk or a database that stalls.
        lock = sqlite3.connect(hub.db.removeprefix("sqlite://"), isolation_level=None)
        lock.execute("BEGIN IMMEDIATE")
        stalled = threading.Event()
        stalled.set()
        answers: list[Answer] = []

        def agent(body: dict[str, object]) -> None:  # one agent's batch, as a fleet sends them
            with httpx.Client(timeout=30) as client:
                response = post(client, hub, body)
            error = response.json().get("error", {}) if response.status_code != 200 else {}
            answers.append(Answer(body, response.status_code, error.get("code", ""),
                                  response.headers.get("Retry-After"), stalled.is_set()))

        agents = []
        # A batch every 50 ms until three are refused while the lock is held; released after
        # 3.5 s at the latest, within the busy timeout, so that no commit fails.
        for i in range(70):
            if sum(a.status == 503 and a.while_stalled for a in answers) >= 3:
                break
            agents.append(threading.Thread(target=agent, args=(batch(start + 10 * (i + 1)),)))
            agents[-1].start()
            time.sleep(0.05)
        stalled.clear()
        lock.execute("ROLLBACK")
        lock.close()
        for thread in agents:
            thread.join(60)
        refused = [a for a in answers if a.status == 503]
        accepted = [a for a in answers if a.status == 200]
        assert {a.status for a in answers} <= {200, 503}, [(a.status, a.code) for a in answers]
        assert refused, "no 503 while the writer was stuck"
        # Answered while the database was still locked: the refusal did not wait for the writer.
        assert any(a.while_stalled for a in refused)
        assert {(a.code, a.retry_after) for a in refused} == {("queue_full", "1")}
        assert accepted, "nothing was queued before the refusals"

        points = stored(hub)
        assert len(points) == 1 + len(accepted)  # the first batch, and each acknowledged one once
        assert sorted(p[0] for p in points[1:]) == sorted(
            a.batch["series"][0]["ts"][0] for a in accepted  # type: ignore[index]
        )
        with httpx.Client(timeout=30) as client:  # the agents' retries, once the hub has room
            for answer in refused:
                assert post(client, hub, answer.batch).status_code == 200
        assert len(stored(hub)) == 1 + len(accepted) + len(refused)
    finally:
        hub.stop()


def test_past_the_hard_bound_a_host_with_nothing_queued_is_refused_too(tmp_path: Path) -> None:
    """A host with nothing queued gets in while the writer is behind, but only up to the bound
    on what waits in memory (``write_queue_batches``): past it every host is refused."""
    bound, hosts = 4, [f"idle-{i}" for i in range(10)]
    hub = start_hub(tmp_path, env={"HOSTPULSE_RATE_LIMIT_PER_S": "0",
                                   "HOSTPULSE_WRITE_QUEUE_BATCHES": str(bound)})
    try:
        start = now_ms() - 600_000
        for host in hosts:  # series known, tokens cached
            assert hub.post_batch(host, [{"metric": "idle.v", "ts": [start], "values": [0.0]}]
                                  ).status_code == 200
        lock = sqlite3.connect(hub.db.removeprefix("sqlite://"), isolation_level=None)
        lock.execute("BEGIN IMMEDIATE")
        answers: dict[str, int] = {}

        def agent(host: str) -> None:
            answers[host] = hub.post_batch(
                host, [{"metric": "idle.v", "ts": [start + 1], "values": [1.0]}]).status_code

        threads = [threading.Thread(target=agent, args=(host,)) for host in hosts]
        try:
            for thread in threads:  # one after the other: each host has one batch, at most
                thread.start()
                time.sleep(0.1)
            deadline = time.monotonic() + 2
            while 503 not in answers.values():
                assert time.monotonic() < deadline, answers
                time.sleep(0.01)
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        for thread in threads:
            thread.join(60)
        accepted = [h for h in hosts if answers[h] == 200]
        assert set(answers.values()) == {200, 503}, answers
        # The group being committed when the lock came, then `bound` queued behind it.
        assert len(accepted) <= 1 + bound, answers
        for host in hosts:
            stored = hub.get("/api/v1/series", host=host).json()["series"]
            ts = [p[0] for p in hub.get(f"/api/v1/series/{stored[0]['id']}/points").json()["points"]]
            assert ts == ([start, start + 1] if host in accepted else [start])
    finally:
        hub.stop()
