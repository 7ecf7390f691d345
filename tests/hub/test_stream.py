"""WebSocket /api/v1/stream against a real hub: subscribed frames arrive, others do not."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import socket
from pathlib import Path

import pytest
import websockets
from websockets.exceptions import WebSocketException

from tests.support.hub_process import LiveHub, now_ms, start_hub


async def subscribe(hub: LiveHub, **message: object) -> websockets.ClientConnection:
    ws = await websockets.connect(hub.ws_url)
    await ws.send(json.dumps({"type": "subscribe", **message}))
    assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "subscribed"
    return ws


async def test_points_frame_names_host_and_series(live_hub: LiveHub) -> None:
    ws = await subscribe(live_hub, hosts=["*"], metrics=["cpu.*"])
    start = now_ms()
    series = [
        {
            "metric": "cpu.percent",
            "labels": {"cpu": "total"},
            "unit": "%",
            "ts": [start],
            "values": [42.0],
        },
        {"metric": "mem.used", "unit": "B", "ts": [start], "values": [1024.0]},
    ]
    response = await asyncio.to_thread(live_hub.post_batch, "web-1", series)
    assert response.status_code == 200
    frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
    await ws.close()
    assert frame["type"] == "points" and frame["host"] == "web-1"
    assert [(s["metric"], s["labels"], s["unit"]) for s in frame["series"]] == [
        ("cpu.percent", {"cpu": "total"}, "%")
    ]
    # [ts, value, score, low, high, anomaly]: a first sample is never an anomaly (cold start).
    [point] = frame["series"][0]["points"]
    assert point[:2] == [start, 42.0] and point[2] == 0.0 and point[5] is False
    assert isinstance(frame["series"][0]["id"], int)


async def test_host_filter_and_resubscribe(live_hub: LiveHub) -> None:
    ws = await subscribe(live_hub, hosts=["web-2"])
    point = [{"metric": "cpu.percent", "ts": [now_ms()], "values": [1.0]}]
    await asyncio.to_thread(live_hub.post_batch, "web-1", point)
    await asyncio.to_thread(live_hub.post_batch, "web-2", point)
    frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert frame["host"] == "web-2"  # web-1's frame, sent first, was filtered out
    await ws.send(json.dumps({"type": "subscribe", "hosts": ["web-1"]}))
    assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "subscribed"
    await asyncio.to_thread(live_hub.post_batch, "web-1", point)
    assert json.loads(await asyncio.wait_for(ws.recv(), 5))["host"] == "web-1"
    await ws.close()


async def test_bad_message_gets_an_error_frame(live_hub: LiveHub) -> None:
    async with websockets.connect(live_hub.ws_url) as ws:
        await ws.send("not json")
        frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert frame["type"] == "error" and frame["error"]["code"] == "bad_message"


async def test_cross_origin_upgrade_is_refused(live_hub: LiveHub) -> None:
    with pytest.raises(WebSocketException):
        async with websockets.connect(live_hub.ws_url, origin="http://evil.example") as ws:
            await asyncio.wait_for(ws.recv(), 5)


def stalled_client(url: str) -> socket.socket:
    """A WebSocket client that subscribes to everything and then never reads. A raw socket with a
    tiny receive buffer, so neither a client library nor the kernel soaks up what the hub sends."""
    host, port = url.removeprefix("http://").split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((host, int(port)))
    key = base64.b64encode(os.urandom(16))
    sock.sendall(
        b"GET /api/v1/stream HTTP/1.1\r\nHost: "
        + f"{host}:{port}".encode()
        + b"\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Key: "
        + key
        + b"\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += sock.recv(1)
    assert answer.startswith(b"HTTP/1.1 101"), answer
    payload, mask = b'{"type": "subscribe"}', os.urandom(4)
    masked = bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))
    sock.sendall(bytes([0x81, 0x80 | len(payload)]) + mask + masked)  # one masked text frame
    return sock


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


async def test_a_client_that_never_reads_slows_nobody(tmp_path: Path) -> None:
    # The stalled client subscribes to everything and stops reading: its TCP window fills, then its
    # queue of 2 MB (about 7 frames), and the hub drops its oldest frames instead of buffering
    # them all.
    hub = start_hub(tmp_path, env={"HOSTPULSE_WS_QUEUE_BYTES": "2000000"})
    try:
        stalled = stalled_client(hub.url)
        reader = await subscribe(hub, hosts=["web-1"])
        big = [
            {
                "metric": f"load.m{i}",
                "ts": [now_ms() - j for j in range(200)],
                "values": [j / 7 for j in range(200)],
            }
            for i in range(50)
        ]  # 10,000 points: frames of ~300 KB

        def post_many(count: int) -> list[int]:
            return [hub.post_batch("web-1", big).status_code for _ in range(count)]

        async def read_points(count: int) -> None:
            received = 0
            while received < count:
                frame = json.loads(await asyncio.wait_for(reader.recv(), 10))
                received += frame["type"] == "points"

        # The healthy client reads as frames come, as a browser does: uncompressed (the hub's
        # ws_compression is off by default) 125 frames of ~300 KB outgrow what its socket
        # buffers and the hub's 2 MB queue would hold for a client that waits to read.
        reading = asyncio.create_task(read_points(125))  # the healthy client gets every frame
        await asyncio.to_thread(post_many, 5)
        rss_before = _rss_kib(hub.process.pid)
        statuses = await asyncio.to_thread(post_many, 120)
        assert statuses == [200] * 120
        await asyncio.wait_for(reading, 30)
        growth_mib = (_rss_kib(hub.process.pid) - rss_before) / 1024
        metrics = hub.get("/metrics").text
        dropped = int(
            re.search(
                r"^hostpulse_websocket_frames_dropped_total (\d+)", metrics, re.MULTILINE
            ).group(1)
        )
        # Frames the kernel's socket buffers could not hold were dropped for the stalled client only.
        assert dropped > 50, metrics
        assert growth_mib < 30, f"hub RSS grew by {growth_mib:.1f} MiB"
        await reader.close()
        stalled.close()
    finally:
        hub.stop()
