"""Issue 18, the rest: what one token holder could still do to stall the hub or change what it
stores. Each scenario runs a hostile client against a served hub while /healthz is polled every
20 ms (every probe must stay under 100 ms unless a control server probed at the same instant shows
that the machine itself stalled, and none may pass 1 s: the stalls were 2 to 60 s; see
tests/hostile/probe.py's HealthProbe) and an ordinary agent posts a point every 0.1 s (every one of its batches must answer 200 and be
stored exactly once; a 503 queue_full, the writer's back-pressure, is retried as the agent does)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from tests.hostile.probe import (
    QUICK,
    HealthProbe,
    OrdinaryAgent,
    half_open_closed_in,
    post_as_agent,
    rss_kib,
)
from tests.reliability.scenarios import scenario
from tests.reliability.test_postgres_down import pg_db  # noqa: F401 - a fixture, found by name
from tests.support.hub_process import LiveHub, make_batch, now_ms, start_hub


def block(metric: str, points: int, start: int | None = None, **extra: Any) -> dict[str, Any]:
    t = (start if start is not None else now_ms() - 3_600_000)
    return {"metric": metric, "ts": list(range(t, t + points)),
            "values": [float(i % 7) for i in range(points)], **extra}


def post(hub: LiveHub, host: str, series: list[dict[str, Any]], batch_id: str | None = None,
         timeout: float = 60) -> httpx.Response:
    return httpx.post(f"{hub.url}/api/v1/ingest", json=make_batch(host, series, batch_id),
                      headers={"Authorization": f"Bearer {hub.token(host)}"}, timeout=timeout)


def post_retrying(hub: LiveHub, host: str, series: list[dict[str, Any]]) -> httpx.Response:
    """``post`` as the agent sends: a 503 queue_full (back-pressure while the big batches keep
    the writer behind) is retried; a 503 of any other code is the answer."""
    with httpx.Client(timeout=60) as client:
        return post_as_agent(client, hub, make_batch(host, series), hub.token(host))[0]


def series_of(hub: LiveHub, host: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = hub.get("/api/v1/series", host=host).json()["series"]
    return found


def points_of(hub: LiveHub, series_id: int, start: int, end: int) -> list[list[Any]]:
    found: list[list[Any]] = hub.get(f"/api/v1/series/{series_id}/points",
                                     **{"from": start, "to": end, "max_points": 100_000}).json()["points"]
    return found


@scenario(
    done="posted the largest batches the limits allow, each shape once: 1 series x 1,000 points, "
         "50 series x 1,000 points (50,000 samples), 5,000 new series x 10 points, then the same "
         "5,000 series again; then 1 series x 1,001 points and 1 series x 40,000 (which froze the "
         "hub for 5 s before)",
    checked="the allowed ones answer 200 with every sample accepted; 1,001 and 40,000 points are "
            f"413 too_many_points and store nothing; {QUICK} throughout; the "
            "ordinary agent's batches are all stored once",
)
def test_the_largest_allowed_batch_never_stalls_the_hub(hub: LiveHub) -> None:
    host = "big-batches"
    shapes = [[block("big.one", 1000)], [block(f"big.wide{i}", 1000) for i in range(50)],
              [block(f"big.many{i}", 10) for i in range(5000)],
              [block(f"big.many{i}", 10, now_ms() - 1_800_000) for i in range(5000)]]
    # Encoded before the probe starts: json.dumps of 5,000 series holds this process's GIL for
    # tens of ms, which the probe's thread would count as the hub's latency.
    bodies = [json.dumps(make_batch(host, shape)).encode() for shape in shapes]
    auth = {"Authorization": f"Bearer {hub.token(host)}", "Content-Type": "application/json"}
    probes: list[tuple[str, HealthProbe]] = []
    with OrdinaryAgent(hub) as agent:
        for shape, body in zip(shapes, bodies, strict=True):
            name = f"{len(shape)} series x {len(shape[0]['ts'])} points"
            with HealthProbe(hub) as health:
                time.sleep(0.1)
                started = time.perf_counter()
                answer = httpx.post(f"{hub.url}/api/v1/ingest", content=body, headers=auth,
                                    timeout=60)
                took = time.perf_counter() - started
            assert answer.status_code == 200, answer.text
            assert answer.json()["accepted"] == sum(len(s["ts"]) for s in shape)
            print(f"{name}: answered in {took:.2f} s")
            probes.append((name, health))
        for points in (1001, 40_000):
            answer = post(hub, host, [block("big.refused", points)])
            assert (answer.status_code, answer.json()["error"]["code"]) == (413, "too_many_points")
    for name, health in probes:
        print(name, end=": ")
        health.assert_quick()
    agent.assert_stored_once()
    assert not [s for s in series_of(hub, host) if s["metric"] == "big.refused"]


@scenario(
    done="a hub started with max_series_per_host 1,000 and max_series_per_batch 20,000; a host "
         "holding 10 series posted a batch of 20,000 new series, while another host posted a "
         "batch of 5 new series",
    checked="the big batch is 400 series_limit_reached within 2 s (it took 8.6 s) and creates no "
            "series; the other host's batch answers 200 within 2 s (it waited 8 s behind a "
            f"hub-wide lock); {QUICK}; the ordinary agent's batches stored once",
)
def test_a_series_limit_refusal_is_quick_and_holds_up_no_other_host(tmp_path: Path) -> None:
    limited = start_hub(tmp_path / "limit", env={
        "HOSTPULSE_RATE_LIMIT_PER_S": "0", "HOSTPULSE_MAX_SERIES_PER_HOST": "1000",
        "HOSTPULSE_MAX_SERIES_PER_BATCH": "20000"})
    try:
        assert post(limited, "wide", [block(f"wide.s{i}", 1) for i in range(10)]).status_code == 200
        limited.token("neighbour")

        async def both() -> tuple[tuple[httpx.Response, float], tuple[httpx.Response, float]]:
            async def timed(host: str, series: list[dict[str, Any]]) -> tuple[httpx.Response, float]:
                started = time.perf_counter()
                answer = await asyncio.to_thread(post, limited, host, series)
                return answer, time.perf_counter() - started
            wide = asyncio.create_task(timed("wide", [block(f"wide.n{i}", 1) for i in range(20_000)]))
            await asyncio.sleep(0.3)  # the big batch is being resolved when the neighbour posts
            neighbour = await timed("neighbour", [block(f"near.s{i}", 1) for i in range(5)])
            return await wide, neighbour

        with OrdinaryAgent(limited) as agent, HealthProbe(limited) as health:
            (refused, refused_s), (other, other_s) = asyncio.run(both())
        print(f"20,000 new series refused in {refused_s:.2f} s; the neighbour's batch took "
              f"{other_s:.2f} s")
        assert (refused.status_code, refused.json()["error"]["code"]) == (400, "series_limit_reached")
        assert refused_s < 2 and other.status_code == 200 and other_s < 2
        assert len(series_of(limited, "wide")) == 10 and len(series_of(limited, "neighbour")) == 5
        health.assert_quick()
        agent.assert_stored_once()
    finally:
        limited.stop()


@scenario(
    done="posted a batch (series a.unit in B), then the same batch_id holding a.unit in % and a "
         "new series; then one batch naming a series twice (the second time with another unit) "
         "with a timestamp repeated within it and across the two",
    checked="the reused batch_id is 200 duplicate true, accepted 0, and changes nothing: the unit "
            "is still B, no new series; the batch with repeats stores one series, each timestamp "
            "once with the last value given, in the order given, the last unit, and accepted "
            "counts the points stored; the ordinary agent's batches stored once",
)
def test_a_reused_batch_id_changes_nothing_and_repeats_are_kept_once(hub: LiveHub) -> None:
    host, t = "repeats", now_ms() - 60_000
    batch_id = uuid.uuid4().hex
    with OrdinaryAgent(hub) as agent, HealthProbe(hub) as health:
        assert post(hub, host, [block("a.unit", 3, t, unit="B")], batch_id).status_code == 200
        again = post(hub, host, [block("a.unit", 3, t, unit="%"), block("a.new", 1, t)], batch_id)
        assert again.status_code == 200 and again.json() == {
            "batch_id": batch_id, "accepted": 0, "duplicate": True}
        (stored,) = series_of(hub, host)
        assert (stored["metric"], stored["unit"]) == ("a.unit", "B")
        repeats = [{"metric": "r.value", "unit": "B", "ts": [t, t + 1, t], "values": [1.0, 2.0, 3.0]},
                   {"metric": "r.value", "unit": "%", "ts": [t + 1, t + 2], "values": [4.0, 5.0]}]
        answer = post(hub, host, repeats)
        assert answer.status_code == 200 and answer.json()["accepted"] == 3, answer.text
        (kept,) = [s for s in series_of(hub, host) if s["metric"] == "r.value"]
        assert kept["unit"] == "%"
        assert [p[:2] for p in points_of(hub, kept["id"], t - 1, t + 10)] == [[t, 3.0], [t + 1, 4.0], [t + 2, 5.0]]
    health.assert_quick()
    agent.assert_stored_once()


def reuse_one_batch_id_at_once(hub: LiveHub, host: str, posts: int = 30) -> None:
    """``posts`` requests of one batch_id at once, each with another unit for a series the host
    has and a new series of its own: exactly one content is stored, nothing of the others."""
    t = now_ms() - 60_000
    assert post(hub, host, [block("c.unit", 1, t, unit="B")]).status_code == 200
    batch_id, token = uuid.uuid4().hex, hub.token(host)

    async def at_once() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=posts)
        async with httpx.AsyncClient(timeout=60, limits=limits) as client:
            return await asyncio.gather(*(client.post(
                f"{hub.url}/api/v1/ingest", headers={"Authorization": f"Bearer {token}"},
                json=make_batch(host, [block("c.unit", 1, t + 1 + i, unit=f"u{i}"),
                                       block(f"c.new{i}", 1, t + 1)], batch_id))
                for i in range(posts)))

    answers = asyncio.run(at_once())
    assert [a.status_code for a in answers] == [200] * posts, [a.text for a in answers]
    (winner,) = [i for i, a in enumerate(answers) if not a.json()["duplicate"]]
    assert answers[winner].json()["accepted"] == 2
    assert all(a.json()["accepted"] == 0 for i, a in enumerate(answers) if i != winner)
    stored = {s["metric"]: s for s in series_of(hub, host)}
    assert {m: s["unit"] for m, s in stored.items()} == {"c.unit": f"u{winner}",
                                                          f"c.new{winner}": ""}
    assert [p[:2] for p in points_of(hub, stored["c.unit"]["id"], t - 1, t + posts + 1)] == [
        [t, 0.0], [t + 1 + winner, 0.0]]


@scenario(
    done="posted 30 batches of one batch_id at the same time, each giving another unit to a "
         "series the host has and holding a new series of its own",
    checked="one answers duplicate false and accepted 2, the 29 others duplicate true and "
            "accepted 0; only that one's content is stored: one new series, its unit, its "
            "point (the 29 others used to create 29 series and leave the last post's unit); "
            f"{QUICK}; the ordinary agent's batches stored once",
)
def test_a_batch_id_reused_in_flight_changes_nothing(hub: LiveHub) -> None:
    with OrdinaryAgent(hub) as agent, HealthProbe(hub) as health:
        reuse_one_batch_id_at_once(hub, "in-flight")
    health.assert_quick()
    agent.assert_stored_once()


@scenario(
    done="while 6 batches of 10 series x 1,000 points kept the writer busy, a client posted a "
         "batch with a new series and hung up after 50 ms, its batch still queued; at once "
         "another request reused its batch_id with another new series",
    checked="the reuse (retried after a 503 queue_full, as the agent does) answers duplicate "
            "true, accepted 0: the host has the first batch's series and its point, not the "
            "second's; every big batch is 200",
)
def test_a_batch_id_stays_claimed_while_its_hung_up_batch_is_queued(hub: LiveHub) -> None:
    host, batch_id, t = "hung-up", uuid.uuid4().hex, now_ms() - 60_000
    token = hub.token(host)  # made now: `hostpulse token create` takes about a second
    # Series known first: each big batch then queues as it arrives, behind the one being scored.
    assert post(hub, "hung-busy", [block(f"busy.s{s}", 1, t) for s in range(10)]).status_code == 200

    async def run() -> tuple[list[int], httpx.Response]:
        big = [asyncio.create_task(asyncio.to_thread(post, hub, "hung-busy", [
            block(f"busy.s{s}", 1000, now_ms() - 3_600_000 + 1000 * b) for s in range(10)]))
            for b in range(6)]
        deadline = time.monotonic() + 20
        while hub.get("/healthz").json()["write_queue"] < 1:  # the writer is busy
            assert time.monotonic() < deadline, "the big batches never queued up"
            await asyncio.sleep(0.01)
        with pytest.raises(httpx.TimeoutException):
            async with httpx.AsyncClient(timeout=0.05) as client:
                await client.post(f"{hub.url}/api/v1/ingest", json=make_batch(
                    host, [block("q.first", 1, t)], batch_id),
                    headers={"Authorization": f"Bearer {token}"})
        # As the agent sends: while this host's first batch waits, the writer's back-pressure
        # may answer 503 queue_full; the retry must still be told duplicate, changing nothing.
        with httpx.Client(timeout=60) as client:
            reused, _ = await asyncio.to_thread(
                post_as_agent, client, hub, make_batch(host, [block("q.second", 1, t)], batch_id),
                token)
        return [(await task).status_code for task in big], reused

    big, reused = asyncio.run(run())
    assert big == [200] * 6
    assert reused.status_code == 200 and reused.json()["duplicate"] is True, reused.text
    (first,) = series_of(hub, host)
    assert first["metric"] == "q.first"
    assert [p[:2] for p in points_of(hub, first["id"], t - 1, t + 1)] == [[t, 0.0]]


@pytest.mark.postgres
@scenario(
    done="on PostgreSQL, posted 30 batches of one batch_id at the same time, each giving another "
         "unit to a series the host has and holding a new series of its own",
    checked="as on SQLite: one content stored (one new series, its unit, its point), the 29 "
            "others duplicate true and accepted 0, nothing of theirs created or changed",
)
def test_a_batch_id_reused_in_flight_changes_nothing_on_postgres(tmp_path: Path, pg_db: str) -> None:  # noqa: F811
    pg = start_hub(tmp_path / "pg", db=f"postgres://root@127.0.0.1:5432/{pg_db}",
                   env={"HOSTPULSE_RATE_LIMIT_PER_S": "0"})
    try:
        reuse_one_batch_id_at_once(pg, "in-flight")
    finally:
        pg.stop()


@pytest.mark.postgres
@scenario(
    done="on PostgreSQL, while 6 batches of one series x 1,000 points kept the writer busy, a client posted "
         "a batch and hung up after 50 ms, and another client then posted an ordinary batch",
    checked="the batch after the hang-up answers 200 (it answered 503 InvalidStateError though "
            "it was stored); the abandoned batch's point is stored once after its retry; every "
            f"big batch is 200; no 'commit of … failed' in the log; {QUICK}; the "
            "ordinary agent's batches stored once",
)
def test_a_client_that_hangs_up_changes_no_other_answer(tmp_path: Path, pg_db: str) -> None:  # noqa: F811
    pg = start_hub(tmp_path / "pg", db=f"postgres://root@127.0.0.1:5432/{pg_db}",
                   env={"HOSTPULSE_RATE_LIMIT_PER_S": "0"})
    try:
        for host in ("quitter", "next"):  # series known: the abandoned batch is queued at once
            assert post(pg, host, [block(f"{host[:4]}.value", 1, now_ms() - 7_200_000)]).status_code == 200
        pg.token("busy")

        async def run() -> tuple[list[int], dict[str, Any], httpx.Response]:
            # Scoring 1,000 points of one series keeps the writer busy ~150 ms a batch (in pieces).
            big = [asyncio.to_thread(post, pg, "busy", [block("busy.value", 1000,
                                                              now_ms() - 3_600_000 + 1000 * b)])
                   for b in range(6)]
            tasks = [asyncio.create_task(call) for call in big]
            deadline = time.monotonic() + 20
            while pg.get("/healthz").json()["write_queue"] < 1:  # batches wait: the writer is busy
                assert time.monotonic() < deadline, "the big batches never queued up"
                await asyncio.sleep(0.01)
            abandoned = make_batch("quitter", [block("quit.value", 1)])
            with pytest.raises(httpx.TimeoutException):
                async with httpx.AsyncClient(timeout=0.05) as client:
                    await client.post(f"{pg.url}/api/v1/ingest", json=abandoned,
                                      headers={"Authorization": f"Bearer {pg.token('quitter')}"})
            after = await asyncio.to_thread(post_retrying, pg, "next", [block("next.value", 1)])
            return [(await t).status_code for t in tasks], abandoned, after

        with OrdinaryAgent(pg) as agent, HealthProbe(pg) as health:
            big, abandoned, after = asyncio.run(run())
        assert after.status_code == 200, after.text
        assert big == [200] * 6
        with httpx.Client(timeout=30) as client:
            retry, _ = post_as_agent(client, pg, abandoned, pg.token("quitter"))
        assert retry.status_code == 200, retry.text
        (quit_series,) = series_of(pg, "quitter")
        t = abandoned["series"][0]["ts"][0]
        assert len(points_of(pg, quit_series["id"], t - 1, t + 1)) == 1  # stored once
        print(f"the abandoned batch's retry: duplicate {retry.json()['duplicate']}")
        assert "commit of" not in pg.log() and "InvalidStateError" not in pg.log()
        health.assert_quick()
        agent.assert_stored_once()
    finally:
        pg.stop()


def metric(hub: LiveHub, name: str) -> float:
    """One figure of the hub's /metrics."""
    for line in hub.get("/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


async def trickled_until_closed(port: int) -> float:
    """Send a request head one byte a second, never finishing it; the seconds from connecting
    until the hub closes the connection (it must answer nothing)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    start = time.monotonic()
    head = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 20
    try:
        for byte in head:
            try:
                writer.write(bytes([byte]))
                await writer.drain()
                answered = await asyncio.wait_for(reader.read(100), 1.0)
            except TimeoutError:
                continue
            except ConnectionError:
                break
            assert answered == b"", answered  # closed without an answer
            break
        return time.monotonic() - start
    finally:
        writer.close()


@scenario(
    done="a hub with header_timeout_s 4 (read_timeout_s 30): 50 connections sent a request head "
         "one byte a second, each byte within the read timeout, never finishing it",
    checked="the hub closes every one, unanswered, within header_timeout_s + 2 s of its "
            f"connecting; {QUICK}; the ordinary agent's batches "
            "stored once",
)
def test_a_request_head_has_a_deadline(tmp_path: Path) -> None:
    trickled = start_hub(tmp_path / "trickle", env={"HOSTPULSE_RATE_LIMIT_PER_S": "0",
                                                    "HOSTPULSE_HEADER_TIMEOUT_S": "4"})
    try:
        port = int(trickled.url.rsplit(":", 1)[1])

        async def fifty() -> list[float]:
            return await asyncio.gather(*(trickled_until_closed(port) for _ in range(50)))

        with OrdinaryAgent(trickled) as agent, HealthProbe(trickled) as health:
            closed_after = sorted(asyncio.run(fifty()))
        print(f"50 trickling connections closed after {closed_after[0]:.1f} to "
              f"{closed_after[-1]:.1f} s (header_timeout_s 4)")
        assert closed_after[-1] < 4 + 2, closed_after
        health.assert_quick()
        agent.assert_stored_once()
    finally:
        trickled.stop()


@scenario(
    done="a host posted 60 batches of 1,000 series; then 40 WebSocket sessions subscribed to "
         "everything and never read while it posted 60 more (a points frame of ~100 KB each); "
         "closed them; then opened 50 connections that sent half their request headers and "
         "stopped (ws_ping_s 1, header_timeout_s 3 here)",
    checked="all 40 sessions are still open after the 60 batches, and the hub's RSS grew by less "
            "than 40 x ws_queue_bytes (4 MiB) + 64 MB; 3 s after they closed it is back within "
            "8 MB of where it stood before them (it stayed 12 MB up); every half-open connection "
            f"is closed by the hub within 6 s; {QUICK}; the "
            "ordinary agent's batches stored once",
)
def test_slow_consumers_are_bounded_and_let_go(tmp_path: Path) -> None:
    # Sessions that never read answer no ping: read_timeout_s (30 s) closes them, after the
    # scenario; the half-open connections are closed by header_timeout_s.
    slow = start_hub(tmp_path / "slow", env={"HOSTPULSE_RATE_LIMIT_PER_S": "0",
                                             "HOSTPULSE_HEADER_TIMEOUT_S": "3", "HOSTPULSE_WS_PING_S": "1"})
    try:
        series = [block(f"fan.s{i}", 1, now_ms() - 120_000) for i in range(1000)]

        def fan_out(batches: int) -> None:
            for _ in range(batches):
                for s in series:
                    s["ts"] = [s["ts"][0] + 1]
                assert post(slow, "fan", series).status_code == 200

        # The same 60 batches first without sessions: what the hub keeps for 1,000 series (their
        # detectors, the series cache, SQLite's page cache) is not what the sessions leave behind.
        fan_out(60)
        before = rss_kib(slow.process.pid) / 1024

        async def lagging() -> float:
            sockets = []
            for _ in range(40):
                ws = await websockets.connect(slow.ws_url, max_size=None, max_queue=1,
                                              write_limit=2**12)
                await ws.send(json.dumps({"type": "subscribe"}))
                sockets.append(ws)
            await asyncio.sleep(0.5)
            await asyncio.to_thread(fan_out, 60)
            peak = rss_kib(slow.process.pid) / 1024
            assert metric(slow, "hostpulse_websocket_clients") == 40  # all still lagging
            for ws in sockets:
                ws.transport.abort()
            return peak

        with OrdinaryAgent(slow) as agent, HealthProbe(slow) as health:
            peak = asyncio.run(lagging())
            time.sleep(1 + 1 + 1)  # ws_ping_s, the bus's give-back one second later, and slack
            after = rss_kib(slow.process.pid) / 1024
            closed_in = half_open_closed_in(slow, 50)
        print(f"RSS {before:.0f} MiB, {peak:.0f} with 40 lagging sessions, {after:.0f} after; "
              f"50 half-open connections closed in {closed_in:.1f} s")
        # Measured, 4 runs: 99 -> 111-112 -> 101 MiB; it stayed at 111-112 (25 s later too) before the
        # bus collected and trimmed once Hypercorn's ping tasks let the connections go.
        assert peak - before < 40 * 4 + 64 and after - before < 8
        assert closed_in < 6
        health.assert_quick()
        agent.assert_stored_once()
    finally:
        slow.stop()
