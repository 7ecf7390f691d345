"""The served hub (hub/web/server.py): it lets a connection go when its client closes it, and
agrees to permessage-deflate on the live stream only when ws_compression is on."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import websockets

from tests.support.hub_process import LiveHub, now_ms, run_cli, start_hub


def test_a_connection_the_client_closed_is_closed_at_once_not_at_the_keep_alive_timer(
    tmp_path: Path,
) -> None:
    # The keep-alive timer at 120 s: a hub that waited for it would leave the socket open far
    # past the 30 s this test waits (Hypercorn 0.18 did, holding every closed connection).
    hub = start_hub(tmp_path / "hub", env={"HOSTPULSE_HEADER_TIMEOUT_S": "120",
                                           "HOSTPULSE_READ_TIMEOUT_S": "120"})  # fmt: skip
    try:
        where = urlsplit(hub.url)
        with socket.create_connection((where.hostname, where.port), timeout=30) as conn:
            conn.sendall(f"GET /healthz HTTP/1.1\r\nHost: {where.netloc}\r\n\r\n".encode())
            answer = b""
            while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
                piece = conn.recv(65536)
                assert piece, answer
                answer += piece
            assert answer.startswith(b"HTTP/1.1 200")
            conn.shutdown(socket.SHUT_WR)  # the client's EOF, its connection kept alive till now
            assert conn.recv(65536) == b""  # the hub closed its side: no socket.timeout
    finally:
        hub.stop()


async def _first_points_frame(hub: LiveHub) -> tuple[str | None, dict[str, Any]]:
    """Subscribe as a browser would (websockets' client offers permessage-deflate, as browsers
    do), post a batch; the extension the hub agreed to, and the points frame that came."""
    async with websockets.connect(hub.ws_url, max_size=None) as ws:
        assert ws.response is not None
        agreed = ws.response.headers.get("Sec-WebSocket-Extensions")
        await ws.send(json.dumps({"type": "subscribe"}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "subscribed"
        series = [{"metric": "live.value", "ts": [now_ms()], "values": [4.5]}]
        assert (await asyncio.to_thread(hub.post_batch, "live-host", series)).status_code == 200
        while (frame := json.loads(await asyncio.wait_for(ws.recv(), 10)))["type"] != "points":
            pass
        return agreed, frame


@pytest.mark.parametrize(("setting", "agreed"), [
    (None, None), ("off", None), ("on", "permessage-deflate"),
])
def test_ws_compression_decides_whether_permessage_deflate_is_agreed(
    tmp_path: Path, setting: str | None, agreed: str | None,
) -> None:
    # Hypercorn 0.18 agrees to the client's offer whatever its config says: with the setting off
    # (the default) the hub must answer the upgrade without the extension.
    env = {} if setting is None else {"HOSTPULSE_WS_COMPRESSION": setting}
    hub = start_hub(tmp_path / "hub", env=env)
    try:
        answered, frame = asyncio.run(_first_points_frame(hub))
    finally:
        hub.stop()
    assert (answered or "").split(";")[0] == (agreed or "")
    assert frame["host"] == "live-host"
    assert [(s["metric"], s["points"][0][1]) for s in frame["series"]] == [("live.value", 4.5)]


def test_a_ws_compression_other_than_on_or_off_stops_the_hub(tmp_path: Path) -> None:
    done = run_cli("hub", "--db", f"sqlite://{tmp_path / 'hub.sqlite3'}", "--bind", "127.0.0.1:0",
                   env={"HOSTPULSE_WS_COMPRESSION": "yes"}, check=False, timeout=30)
    assert done.returncode != 0
    assert "HOSTPULSE_WS_COMPRESSION" in done.stdout + done.stderr, done.stderr
