"""Issue 18: one token holder flooding the hub with big batches while the writer is behind must
not make other hosts' batches answer 503. Back-pressure refuses the host that already holds
batches not yet stored; a host with nothing queued gets in (hub/storage/writer.py)."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.hostile.probe import post_as_agent
from tests.reliability.scenarios import scenario
from tests.support.hub_process import LiveHub, make_batch, now_ms, start_hub

FLOODER = "flooder"
SERIES, POINTS, FLOOD = 10, 1000, 30
QUIET = [f"quiet-{i}" for i in range(6)]


@dataclass
class Answer:
    host: str
    body: dict[str, Any]
    status: int = 0
    code: str = ""
    retry_after: str | None = None
    before_release: bool = False  # answered while the database was still locked


def flood_batch(n: int, start: int) -> dict[str, Any]:
    t = start + n * POINTS
    return make_batch(FLOODER, [{"metric": f"flood.s{s}", "ts": list(range(t, t + POINTS)),
                                 "values": [float(s)] * POINTS} for s in range(SERIES)])


def quiet_batch(host: str, ts: int) -> dict[str, Any]:
    return make_batch(host, [{"metric": "quiet.value", "ts": [ts], "values": [1.0]}])


def points(hub: LiveHub, host: str, metric: str, start: int) -> list[int]:
    (series,) = hub.get("/api/v1/series", host=host, metric=metric).json()["series"]
    found = hub.get(f"/api/v1/series/{series['id']}/points",
                    **{"from": start, "to": now_ms(), "max_points": 100_000}).json()["points"]
    return [p[0] for p in found]


@scenario(
    done=f"with SQLite's write lock held by another connection (the writer stuck on its commit), "
         f"one host posted {FLOOD} batches of {SERIES} series x {POINTS} points, 30 ms apart, "
         f"each on a connection of its own; once it was refused, {len(QUIET)} other hosts posted "
         "a one-point batch each; then the lock was let go",
    checked="the flooding host is refused 503 queue_full (Retry-After 1) while its batches "
            "wait; every other host's batch is accepted without a 503 (they used to be refused "
            "as soon as the writer was 0.5 s behind) and answered after the lock went; every "
            "acknowledged batch is stored exactly once, the refused ones once on their retry",
)
def test_a_flooding_host_is_refused_and_the_others_get_in(tmp_path: Path) -> None:
    hub = start_hub(tmp_path, env={"HOSTPULSE_RATE_LIMIT_PER_S": "0"})
    try:
        start = now_ms() - 1_800_000
        # Series known and tokens cached first: while the database is locked, the requests need
        # nothing of it but their commit.
        assert hub.post_batch(FLOODER, flood_batch(0, start)["series"]).status_code == 200
        for i, host in enumerate(QUIET):
            assert hub.post_batch(host, quiet_batch(host, start + i)["series"]).status_code == 200
        flood = [flood_batch(n, start) for n in range(1, FLOOD + 1)]
        encoded = [json.dumps(body).encode() for body in flood]  # before the clock starts
        released = threading.Event()
        answers: list[Answer] = []

        def send(answer: Answer, content: bytes) -> None:
            with httpx.Client(timeout=60) as client:
                response = client.post(
                    f"{hub.url}/api/v1/ingest", content=content,
                    headers={"Authorization": f"Bearer {hub.token(answer.host)}",
                             "Content-Type": "application/json"})
            answer.before_release = not released.is_set()
            answer.status = response.status_code
            if response.status_code != 200:
                answer.code = response.json()["error"]["code"]
                answer.retry_after = response.headers.get("Retry-After")

        def post(host: str, body: dict[str, Any], content: bytes | None = None) -> threading.Thread:
            answer = Answer(host, body)
            answers.append(answer)
            thread = threading.Thread(target=send, args=(answer, content or json.dumps(body).encode()))
            thread.start()
            return thread

        lock = sqlite3.connect(hub.db.removeprefix("sqlite://"), isolation_level=None)
        lock.execute("BEGIN IMMEDIATE")  # the writer's next commit waits (5 s busy timeout)
        try:
            threads = []
            for body, content in zip(flood, encoded, strict=True):
                threads.append(post(FLOODER, body, content))
                time.sleep(0.03)
            deadline = time.monotonic() + 2
            while not any(a.status == 503 for a in answers):
                assert time.monotonic() < deadline, "the flood was never refused"
                time.sleep(0.01)
            quiet_ts = now_ms() - 60_000
            threads += [post(host, quiet_batch(host, quiet_ts)) for host in QUIET]
            time.sleep(0.5)  # the quiet hosts' requests reach the hub while it is still locked
        finally:
            released.set()
            lock.execute("ROLLBACK")
            lock.close()
        for thread in threads:
            thread.join(60)

        flooded = [a for a in answers if a.host == FLOODER]
        quiet = [a for a in answers if a.host != FLOODER]
        assert {(a.status, a.code) for a in flooded} <= {(200, ""), (503, "queue_full")}
        refused = [a for a in flooded if a.status == 503]
        assert refused and all(a.before_release and a.retry_after == "1" for a in refused)
        accepted = [a for a in flooded if a.status == 200]
        print(f"flood: {len(accepted)} accepted, {len(refused)} refused")
        # The quiet hosts were let in while the flooder's batches waited, and answered once
        # their commit could happen: none was told to back off.
        assert [(a.status, a.code) for a in quiet] == [(200, "")] * len(QUIET)
        assert not any(a.before_release for a in quiet)
        for i, host in enumerate(QUIET):
            assert points(hub, host, "quiet.value", start) == [start + i, quiet_ts]

        def flood_stored() -> list[int]:
            return sorted(points(hub, FLOODER, "flood.s0", start))

        def first_ts(answers: list[Answer]) -> list[int]:
            return [a.body["series"][0]["ts"][0] for a in answers]

        # Each acknowledged batch once; then the agent's retries of the refused ones, once each.
        assert flood_stored()[::POINTS] == sorted([start, *first_ts(accepted)])
        with httpx.Client(timeout=60) as client:
            for answer in refused:
                retry, _ = post_as_agent(client, hub, answer.body, hub.token(FLOODER))
                assert retry.status_code == 200 and retry.json()["duplicate"] is False
        assert flood_stored() == sorted(t for b in [flood_batch(0, start), *flood]
                                        for t in b["series"][0]["ts"])
    finally:
        hub.stop()

