"""WebSocket /api/v1/stream against a real hub: subscribed frames arrive, others do not."""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets

from tests.support.hub_process import LiveHub, now_ms


async def subscribe(hub: LiveHub, **message: object) -> websockets.ClientConnection:
    ws = await websockets.connect(hub.ws_url)
    await ws.send(json.dumps({"type": "subscribe", **message}))
    assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "subscribed"
    return ws


async def test_points_frame_names_host_and_series(live_hub: LiveHub) -> None:
    ws = await subscribe(live_hub, hosts=["*"], metrics=["cpu.*"])
    start = now_ms()
    series = [
        {"metric": "cpu.percent", "labels": {"cpu": "total"}, "unit": "%", "ts": [start], "values": [42.0]},
        {"metric": "mem.used", "unit": "B", "ts": [start], "values": [1024.0]},
    ]
    response = await asyncio.to_thread(live_hub.post_batch, "web-1", series)
    assert response.status_code == 200
    frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
    await ws.close()
    assert frame["type"] == "points" and frame["host"] == "web-1"
    assert [(s["metric"], s["labels"], s["unit"], s["points"]) for s in frame["series"]] == [
        ("cpu.percent", {"cpu": "total"}, "%", [[start, 42.0]])
    ]
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
    with pytest.raises(websockets.exceptions.WebSocketException):
        async with websockets.connect(live_hub.ws_url, origin="http://evil.example") as ws:
            await asyncio.wait_for(ws.recv(), 5)
