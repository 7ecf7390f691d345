"""Two real ``hostpulse hub`` processes on one PostgreSQL, sharing the live view through Redis."""

from __future__ import annotations

import asyncio
import gzip
import json
import signal
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import websockets

from tests.support.hub_process import LiveHub, make_batch, now_ms, start_hub

pytestmark = pytest.mark.postgres


async def subscribe(hub: LiveHub) -> websockets.ClientConnection:
    ws = await websockets.connect(hub.ws_url)
    await ws.send(json.dumps({"type": "subscribe", "hosts": ["*"]}))
    assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "subscribed"
    return ws


async def next_points(ws: websockets.ClientConnection, timeout: float) -> dict[str, Any] | None:
    try:
        while True:
            frame = json.loads(await asyncio.wait_for(ws.recv(), timeout))
            if frame["type"] == "points":
                return frame
    except TimeoutError:
        return None


def series(value: float, ts: int) -> list[dict[str, Any]]:
    return [
        {
            "metric": "cpu.percent",
            "labels": {"cpu": "total"},
            "unit": "%",
            "ts": [ts],
            "values": [value],
        }
    ]


async def stored(pg_url: str, host: str) -> tuple[int, int]:
    """(samples stored for ``host``, batch keys kept for it), straight from PostgreSQL."""
    db = await asyncpg.connect(pg_url.replace("postgres://", "postgresql://"))
    try:
        samples = await db.fetchval(
            "SELECT COALESCE(SUM(r.count), 0) FROM raw_blocks r JOIN series s ON s.id = r.series_id "
            "JOIN hosts h ON h.id = s.host_id WHERE h.name = $1",
            host,
        )
        batches = await db.fetchval(
            "SELECT COUNT(*) FROM ingested_batches b JOIN hosts h ON h.id = b.host_id "
            "WHERE h.name = $1",
            host,
        )
    finally:
        await db.close()
    return int(samples), int(batches)


async def test_points_ingested_on_a_reach_a_websocket_on_b(hubs: tuple[LiveHub, LiveHub]) -> None:
    a, b = hubs
    ws = await subscribe(b)
    sent: dict[float, int] = {}
    frame = None
    # Hub A learns that B has a watcher within its refresh interval (0.5 s): until then it has no
    # reason to build frames, so keep ingesting, as agents do, until one arrives.
    deadline = time.monotonic() + 15
    while frame is None and time.monotonic() < deadline:
        value, ts = float(len(sent)), now_ms()
        response = await asyncio.to_thread(a.post_batch, "web-1", series(value, ts))
        assert response.status_code == 200, response.text
        sent[value] = ts
        frame = await next_points(ws, 0.3)
    await ws.close()
    assert frame is not None, f"no points frame on hub B after {len(sent)} batches on hub A"
    assert frame["host"] == "web-1" and isinstance(frame["received_at"], int)
    [s] = frame["series"]
    [point] = s["points"]
    ts, value = point[:2]  # later fields are optional extras (the detector's score and band)
    assert (s["metric"], s["labels"], s["unit"]) == ("cpu.percent", {"cpu": "total"}, "%")
    assert sent[value] == ts
    ids = [x["id"] for x in b.get("/api/v1/series", host="web-1").json()["series"]]
    assert ids == [s["id"]]  # one database, one series id, whichever hub resolved it
    # Each hub's /metrics shows its side of the trip through Redis.
    assert metric(a, "redis_frames_published_total") >= 1
    assert metric(b, "redis_frames_received_total") >= 1
    assert metric(a, "redis_connected") == metric(b, "redis_connected") == 1


def metric(hub: LiveHub, name: str) -> float:
    """A hub's own figure from /metrics (Prometheus text)."""
    for line in hub.get("/metrics").text.splitlines():
        if line.startswith(f"hostpulse_{name} "):
            return float(line.split()[1])
    raise AssertionError(f"no hostpulse_{name} in /metrics")


async def test_retry_landing_on_b_after_a_committed_is_a_duplicate(
    hubs: tuple[LiveHub, LiveHub], pg_url: str
) -> None:
    a, b = hubs
    batch_id = f"retry-{uuid.uuid4().hex}"
    points = series(1.5, now_ms())
    first = a.post_batch("web-2", points, batch_id=batch_id, compress=True)
    assert first.status_code == 200 and first.json() == {
        "batch_id": batch_id,
        "accepted": 1,
        "duplicate": False,
    }
    again = b.post_batch("web-2", points, batch_id=batch_id, compress=True)
    assert again.status_code == 200 and again.json() == {
        "batch_id": batch_id,
        "accepted": 0,
        "duplicate": True,
    }
    assert await stored(pg_url, "web-2") == (1, 1)


RACES = 60  # with 20, the old SELECT-then-INSERT dedupe 503ed in about one run of three


async def test_same_batch_on_both_hubs_at_once_is_stored_once(
    hubs: tuple[LiveHub, LiveHub], pg_url: str
) -> None:
    """An agent that times out and retries on the other hub while the first one commits: one
    answer stores it, the other says duplicate, and neither is a 503 (the second commit waits
    on the first's key instead of failing its whole group on a unique violation)."""
    a, b = hubs
    token = a.token("web-3")
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        "Content-Encoding": "gzip",
    }

    async def post(client: httpx.AsyncClient, hub: LiveHub, body: bytes) -> dict[str, Any]:
        response = await client.post(f"{hub.url}/api/v1/ingest", content=body, headers=headers)
        assert response.status_code == 200, response.text
        return response.json()

    bodies = [
        gzip.compress(
            json.dumps(make_batch("web-3", series(float(i), now_ms() - i), f"race-{i}")).encode()
        )
        for i in range(RACES)
    ]
    async with httpx.AsyncClient(timeout=30) as client:
        answers = await asyncio.gather(
            *(post(client, hub, body) for body in bodies for hub in (a, b))
        )
    for i in range(RACES):
        pair = answers[2 * i : 2 * i + 2]
        assert sorted(x["duplicate"] for x in pair) == [False, True], pair
    assert await stored(pg_url, "web-3") == (RACES, RACES)


async def test_one_hub_killed_the_other_keeps_serving(
    hubs: tuple[LiveHub, LiveHub], pg_url: str
) -> None:
    a, b = hubs
    before = now_ms()
    assert a.post_batch("web-4", series(1.0, before)).status_code == 200
    ws = await subscribe(b)
    a.stop(signal.SIGKILL)
    after = now_ms()
    response = await asyncio.to_thread(b.post_batch, "web-4", series(2.0, after))
    assert response.status_code == 200, response.text
    frame = await next_points(ws, 10)
    await ws.close()
    assert frame is not None
    assert [p[:2] for p in frame["series"][0]["points"]] == [[after, 2.0]]
    [s] = b.get("/api/v1/series", host="web-4").json()["series"]
    points = b.get(
        f"/api/v1/series/{s['id']}/points", **{"from": before - 1, "to": after + 1}
    ).json()
    assert [p[:2] for p in points["points"]] == [[before, 1.0], [after, 2.0]]
    assert await stored(pg_url, "web-4") == (2, 2)


async def test_maintenance_with_two_hubs_up_folds_every_sample_once(
    tmp_path: Path, pg_url: str, redis_url: str
) -> None:
    """Both hubs run their compactor every half second on the same database: every closed window
    is folded once (the PostgreSQL advisory lock), nothing is lost, nothing is counted twice."""
    env = {"HOSTPULSE_COMPACT_INTERVAL_S": "0.5", "HOSTPULSE_COMPACT_DELAY_S": "0"}
    args = ("--redis", redis_url)
    a = start_hub(tmp_path / "a", db=pg_url, extra_args=args, env=env)
    try:
        b = start_hub(tmp_path / "b", db=pg_url, extra_args=args, env=env)
        b.tokens = a.tokens
        try:
            window = 7_200_000  # the default chunk window, 2 h
            start = (now_ms() // window - 2) * window  # a window closed an hour ago at least
            sent = 0
            for i in range(12):  # one series, its batches alternating between the hubs
                ts = [start + (i * 300 + k) * 1000 for k in range(300)]
                points = [{"metric": "cpu.percent", "ts": ts, "values": [float(k % 7) for k in ts]}]
                hub = (a, b)[i % 2]
                response = await asyncio.to_thread(hub.post_batch, "web-7", points)
                assert response.status_code == 200, response.text
                sent += len(ts)
            db = await asyncpg.connect(pg_url.replace("postgres://", "postgresql://"))
            try:
                deadline = time.monotonic() + 30
                while await db.fetchval("SELECT COUNT(*) FROM raw_blocks"):
                    assert time.monotonic() < deadline, "raw blocks still not compacted after 30 s"
                    await asyncio.sleep(0.2)
                chunks = await db.fetch("SELECT t_start, count FROM chunks")
                hourly = await db.fetch("SELECT ts, count FROM rollups_1h ORDER BY ts")
            finally:
                await db.close()
            [s] = b.get("/api/v1/series", host="web-7").json()["series"]
            answer = b.get(
                f"/api/v1/series/{s['id']}/points",
                **{"from": start, "to": start + window, "max_points": 100_000},
            ).json()
        finally:
            b.stop()
    finally:
        a.stop()
    assert [(c["t_start"], c["count"]) for c in chunks] == [(start, sent)]
    assert [(h["ts"], h["count"]) for h in hourly] == [(start, 3600)]
    assert len(answer["points"]) == sent
    for hub in (a, b):
        assert "compaction failed" not in hub.log()
