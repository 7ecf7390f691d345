"""Issue 18: one token holder (or anyone, on loopback) cannot stall the hub or get past its checks.

Each test runs against a served hub and asserts what a user sees: the hostile request's clear 4xx
(or close code), nothing stored from it, /healthz answering quickly meanwhile (tests/hostile/probe.py's
HealthProbe, where the hostile client could stall the hub's loop)."""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import socket
import time
from pathlib import Path

import httpx
import pytest
import websockets

from tests.hostile.probe import QUICK, HealthProbe, half_open_closed_in, rss_kib
from tests.reliability.scenarios import scenario
from tests.reliability.test_postgres_down import pg_db  # noqa: F401 - a fixture, found by name
from tests.support.hub_process import LiveHub, make_batch, now_ms, run_cli, start_hub

HOST = "bounds-host"


def series(metric: str = "bounds.value", n: int = 1, **extra: object) -> list[dict[str, object]]:
    t = now_ms()
    return [{"metric": metric, "ts": [t - i for i in range(n)], "values": [1.0] * n, **extra}]


def post(hub: LiveHub, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.post(
        f"{hub.url}/api/v1/ingest", content=body, timeout=30,
        headers={"Authorization": f"Bearer {hub.token(HOST)}", "Content-Type": "application/json",
                 **(headers or {})},
    )


@scenario(
    done="posted batches with version 2, and with wrong JSON types the hub used to coerce: "
         "version true and 1.0, ts [\"1\"] and [true], a value true",
    checked="version 2 is 400 unsupported_version; every wrong type is 400 invalid_batch naming "
            "the field; no series is stored from any of them",
)
def test_wrong_types_and_versions_are_refused_not_coerced(hub: LiveHub) -> None:
    base = make_batch(HOST, series("coerce.value"))
    assert post(hub, json.dumps({**base, "version": 2}).encode()).json()["error"]["code"] == (
        "unsupported_version"
    )
    s = base["series"][0]
    for wrong in ({"version": True}, {"version": 1.0}, {"series": [{**s, "ts": ["1"]}]},
                  {"series": [{**s, "ts": [True]}]}, {"series": [{**s, "values": [True]}]}):
        response = post(hub, json.dumps({**base, **wrong}).encode())
        assert response.status_code == 400, (wrong, response.text)
        assert response.json()["error"]["code"] == "invalid_batch"
    assert hub.get("/api/v1/series", metric="coerce.value").json()["series"] == []


@pytest.mark.postgres
@scenario(
    done="on PostgreSQL, posted batches holding a NUL in a label key, a label value, the unit and "
         "agent.version, each together with another host's ordinary batch",
    checked="each NUL batch is 400 invalid_batch ('holds a NUL character'), never a retryable "
            "503; nothing of it is stored; the other host's batches are all 200 and stored once",
)
def test_nul_is_a_400_on_postgres_and_fails_no_other_batch(tmp_path: Path, pg_db: str) -> None:  # noqa: F811
    pg = start_hub(tmp_path / "pg", db=f"postgres://root@127.0.0.1:5432/{pg_db}")
    try:
        cases = [{"labels": {"k\u0000": "v"}}, {"labels": {"k": "v\u0000"}}, {"unit": "B\u0000"}]
        bodies = [make_batch("nul-host", series("nul.value", **c)) for c in cases]
        bodies.append({**make_batch("nul-host", series("nul.value")), "agent": {"version": "1\u0000"}})

        async def both(body: dict[str, object]) -> tuple[httpx.Response, httpx.Response]:
            async with httpx.AsyncClient(timeout=30) as client:
                bad = client.post(f"{pg.url}/api/v1/ingest", json=body,
                                  headers={"Authorization": f"Bearer {pg.token('nul-host')}"})
                good = client.post(f"{pg.url}/api/v1/ingest",
                                   json=make_batch("ok-host", series("ok.value")),
                                   headers={"Authorization": f"Bearer {pg.token('ok-host')}"})
                return await asyncio.gather(bad, good)  # type: ignore[return-value]

        for body in bodies:
            bad, good = asyncio.run(both(body))
            assert bad.status_code == 400 and "NUL" in bad.json()["error"]["message"], bad.text
            assert good.status_code == 200, good.text
        assert pg.get("/api/v1/series", host="nul-host").json()["series"] == []
        (ok,) = pg.get("/api/v1/series", host="ok-host").json()["series"]
        points = pg.get(f"/api/v1/series/{ok['id']}/points").json()["points"]
        assert len(points) == len(bodies)
    finally:
        pg.stop()


@scenario(
    done="posted gzip bodies: 8 at once without a valid token that inflate to 31 MiB each; one "
         "with garbage after the gzip member, one with a second member; bodies with "
         "Content-Encoding deflate, br, x-gzip and 'gzip, identity'",
    checked="the anonymous ones are 401 and the hub's RSS grows by less than 16 MB (nothing "
            "inflated); trailing data is 400 bad_gzip; each other encoding is 415 "
            "unsupported_encoding; nothing is stored; an ordinary gzip batch is stored",
)
def test_gzip_is_inflated_only_after_authentication_and_exactly(hub: LiveHub) -> None:
    bomb = gzip.compress(b" " * (31 << 20))
    before = rss_kib(hub.process.pid)

    async def anonymous() -> list[int]:
        async with httpx.AsyncClient(timeout=30) as client:
            answers = await asyncio.gather(*(
                client.post(f"{hub.url}/api/v1/ingest", content=bomb, headers={
                    "Authorization": "Bearer hp_not-a-token", "Content-Encoding": "gzip",
                    "Content-Type": "application/json"}) for _ in range(8)))
        return [a.status_code for a in answers]

    assert asyncio.run(anonymous()) == [401] * 8
    assert rss_kib(hub.process.pid) - before < 16 * 1024
    body = json.dumps(make_batch(HOST, series("gzip.value"))).encode()
    for tail in (b"garbage", gzip.compress(body)):
        response = post(hub, gzip.compress(body) + tail, {"Content-Encoding": "gzip"})
        assert (response.status_code, response.json()["error"]["code"]) == (400, "bad_gzip")
    for encoding in ("deflate", "br", "x-gzip", "gzip, identity"):
        response = post(hub, gzip.compress(body), {"Content-Encoding": encoding})
        assert response.status_code == 415, (encoding, response.text)
        assert response.json()["error"]["code"] == "unsupported_encoding"
    assert hub.get("/api/v1/series", metric="gzip.value").json()["series"] == []
    assert post(hub, gzip.compress(body), {"Content-Encoding": "gzip"}).status_code == 200


@scenario(
    done="GET /api/v1/series with host of 256 characters and metric of 201, /api/v1/anomalies "
         "with host of 256, and host holding a NUL",
    checked="each is 400 invalid_request in the error shape, never 500; nothing at ERROR in the log",
)
def test_long_filter_values_are_a_400(hub: LiveHub) -> None:
    for path, params in (("/api/v1/series", {"host": "h" * 256}),
                         ("/api/v1/series", {"metric": "m" * 201}),
                         ("/api/v1/anomalies", {"host": "h" * 256}),
                         ("/api/v1/series", {"host": "a\u0000b"})):
        response = hub.get(path, **params)
        assert response.status_code == 400, (path, response.text)
        assert response.json()["error"]["code"] == "invalid_request"
    assert "ERROR" not in hub.log()


@scenario(
    done="a WebSocket client subscribed with non-lists (hosts \"hosta\", metrics \"zzz*\", "
         "hosts 5), with 40,000 metric patterns, and with patterns of 300 characters; then "
         "subscribed with 256 patterns while an agent posted 50 batches",
    checked="each bad subscription gets an error frame (bad_message) and the session stays open; "
            f"with 256 patterns {QUICK}, and all 50 batches are stored once",
)
def test_subscriptions_are_validated_and_bounded(hub: LiveHub) -> None:
    async def run() -> None:
        async with websockets.connect(hub.ws_url, max_size=None) as ws:
            for bad in ({"hosts": "hosta"}, {"metrics": "zzz*"}, {"hosts": 5},
                        {"metrics": [f"nomatch{i}.*" for i in range(40_000)]},
                        {"metrics": ["x" * 300]}):
                await ws.send(json.dumps({"type": "subscribe", **bad}))
                frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
                assert frame["type"] == "error" and frame["error"]["code"] == "bad_message", bad
            await ws.send(json.dumps({"type": "subscribe",
                                      "metrics": [f"nomatch{i}.*" for i in range(256)]}))
            assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "subscribed"
            with HealthProbe(hub) as health:  # the 40,000-pattern stall held /healthz 2.1 s
                for i in range(50):
                    assert (await asyncio.to_thread(hub.post_batch, HOST, series(f"many.s{i}", 20))
                            ).status_code == 200
            health.assert_quick()

    asyncio.run(run())
    assert len(hub.get("/api/v1/series", host=HOST).json()["series"]) >= 50


@scenario(
    done="with HOSTPULSE_VIEWER_AUTH=on, opened a WebSocket with a viewer token, then revoked the "
         "token with `hostpulse token revoke --viewer`; opened more sessions than "
         "ws_max_sessions_per_viewer (3 here) with one token",
    checked="the revoked session is closed by the hub (1008) within 5 s; the session past the "
            "cap is closed with 1013; no 'Task was destroyed but it is pending' in the log",
)
def test_revocation_ends_sessions_and_sessions_are_capped(tmp_path: Path) -> None:
    viewer_hub = start_hub(tmp_path / "viewer", env={
        "HOSTPULSE_VIEWER_AUTH": "on", "HOSTPULSE_WS_PING_S": "1",
        "HOSTPULSE_WS_MAX_SESSIONS_PER_VIEWER": "3"})
    try:
        token = run_cli("token", "create", "alice", "--viewer", "--db", viewer_hub.db
                        ).stdout.strip().splitlines()[-1]
        other = run_cli("token", "create", "bob", "--viewer", "--db", viewer_hub.db
                        ).stdout.strip().splitlines()[-1]
        auth = {"Authorization": f"Bearer {token}"}

        async def run() -> tuple[float, int | None]:
            open_ = [await websockets.connect(viewer_hub.ws_url, additional_headers=auth)
                     for _ in range(3)]
            over = await websockets.connect(viewer_hub.ws_url, additional_headers=auth)
            with pytest.raises(websockets.ConnectionClosed):
                await asyncio.wait_for(over.recv(), 5)
            cap_code = over.close_code
            for ws in open_[1:]:
                await ws.close()
            bob = await websockets.connect(viewer_hub.ws_url,
                                           additional_headers={"Authorization": f"Bearer {other}"})
            await asyncio.to_thread(run_cli, "token", "revoke", "alice", "--viewer",
                                    "--db", viewer_hub.db)
            start = time.monotonic()
            with pytest.raises(websockets.ConnectionClosed):
                while True:
                    await asyncio.wait_for(open_[0].recv(), 10)
            assert open_[0].close_code == 1008
            assert bob.state is websockets.State.OPEN  # another viewer's session goes on
            await bob.close()
            return time.monotonic() - start, cap_code

        took, cap_code = asyncio.run(run())
        assert took < 5 and cap_code == 1013
        viewer_hub.stop()
        assert "Task was destroyed but it is pending" not in viewer_hub.log()
    finally:
        viewer_hub.stop()


@scenario(
    done="on a loopback hub (viewer_auth auto) sent Host: evil.example:PORT to /api/v1/hosts, "
         "/metrics and a WebSocket upgrade; POSTed /login and /logout from another Origin",
    checked="each foreign Host is 403 host_not_allowed (the upgrade is refused); the cross-origin "
            "POSTs are 403 cross_origin; the same requests with Host 127.0.0.1:PORT succeed",
)
def test_loopback_hub_checks_host_and_origin(hub: LiveHub) -> None:
    port = hub.url.rsplit(":", 1)[1]
    evil = {"Host": f"evil.example:{port}"}
    for path in ("/api/v1/hosts", "/metrics"):
        response = httpx.get(f"{hub.url}{path}", headers=evil, timeout=10)
        assert (response.status_code, response.json()["error"]["code"]) == (403, "host_not_allowed")
        assert hub.get(path).status_code == 200
    with socket.create_connection(("127.0.0.1", int(port)), timeout=10) as sock:
        sock.sendall(f"GET /api/v1/stream HTTP/1.1\r\nHost: evil.example:{port}\r\nUpgrade: websocket"
                     "\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n".encode())
        assert not sock.recv(100).startswith(b"HTTP/1.1 101")
    for path in ("/login", "/logout"):
        response = httpx.post(f"{hub.url}{path}", data={"token": "x"}, timeout=10,
                              headers={"Origin": "http://evil.example"})
        assert (response.status_code, response.json()["error"]["code"]) == (403, "cross_origin")


@scenario(
    done="with HOSTPULSE_VIEWER_AUTH=on logged in through /login, kept the session cookie, logged "
         "out; looked at the SQLite file's mode; opened 20 connections that send half their "
         "request headers and stop (read_timeout_s 2 here)",
    checked="after logout the kept cookie gets 401 (revoked server-side), while the viewer token "
            "itself still works; the database file is 0600; every half-open connection is closed "
            "by the hub within 5 s",
)
def test_logout_revokes_the_session_and_slow_headers_are_dropped(tmp_path: Path) -> None:
    viewer_hub = start_hub(tmp_path / "session", env={"HOSTPULSE_VIEWER_AUTH": "on",
                                                      "HOSTPULSE_READ_TIMEOUT_S": "2"})
    try:
        token = run_cli("token", "create", "carol", "--viewer", "--db", viewer_hub.db
                        ).stdout.strip().splitlines()[-1]
        login = httpx.post(f"{viewer_hub.url}/login", data={"token": token}, timeout=10)
        cookie = login.cookies["hostpulse_viewer"]
        assert cookie != token
        kept = {"hostpulse_viewer": cookie}
        assert httpx.get(f"{viewer_hub.url}/api/v1/hosts", cookies=kept).status_code == 200
        httpx.post(f"{viewer_hub.url}/logout", cookies=kept, timeout=10)
        assert httpx.get(f"{viewer_hub.url}/api/v1/hosts", cookies=kept).status_code == 401
        assert httpx.get(f"{viewer_hub.url}/api/v1/hosts",
                         headers={"Authorization": f"Bearer {token}"}).status_code == 200
        assert os.stat(tmp_path / "session" / "hub.sqlite3").st_mode & 0o777 == 0o600
        assert half_open_closed_in(viewer_hub, 20) < 5
    finally:
        viewer_hub.stop()
