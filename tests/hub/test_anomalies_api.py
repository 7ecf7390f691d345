"""Anomaly detection in the ingest path of a real hub: flagged points are streamed, stored and listed."""

from __future__ import annotations

import asyncio
import json
import math

import websockets

from tests.support.hub_process import LiveHub, now_ms


def wave(start: int, count: int) -> tuple[list[int], list[float]]:
    """A quiet, noisy-looking series around 50 (deterministic), one point a second."""
    ts = [start + i * 1000 for i in range(count)]
    return ts, [50.0 + 2.0 * math.sin(i * 0.7) + (i * 37 % 11) / 11.0 for i in range(count)]


async def test_a_spike_is_flagged_streamed_stored_and_listed(live_hub: LiveHub) -> None:
    start = now_ms() - 400_000
    ts, values = wave(start, 300)
    series = {"metric": "demo.spikes", "labels": {}, "unit": ""}
    response = await asyncio.to_thread(live_hub.post_batch, "web-1", [{**series, "ts": ts, "values": values}])
    assert response.status_code == 200
    # Learning the series raised nothing.
    assert live_hub.get("/api/v1/anomalies", host="web-1").json()["anomalies"] == []

    async with websockets.connect(live_hub.ws_url) as ws:
        await ws.send(json.dumps({"type": "subscribe", "hosts": ["web-1"]}))
        await asyncio.wait_for(ws.recv(), 5)
        spike_ts = ts[-1] + 1000
        spike = [{**series, "ts": [spike_ts, spike_ts + 1000], "values": [90.0, 50.5]}]
        assert (await asyncio.to_thread(live_hub.post_batch, "web-1", spike)).status_code == 200
        frames = [json.loads(await asyncio.wait_for(ws.recv(), 5)) for _ in range(2)]

    points_frame = next(f for f in frames if f["type"] == "points")
    anomaly_frame = next(f for f in frames if f["type"] == "anomaly")
    spiked, normal = points_frame["series"][0]["points"]
    assert spiked[0] == spike_ts and spiked[5] is True and spiked[2] > 0.5
    low, high = spiked[3], spiked[4]
    assert low < 52.0 < high < 90.0  # the expected band brackets the usual level, not the spike
    assert normal[5] is False
    assert anomaly_frame["host"] == "web-1" and anomaly_frame["ts"] == spike_ts and anomaly_frame["value"] == 90.0

    [listed] = live_hub.get("/api/v1/anomalies", host="web-1", **{"from": spike_ts - 1}).json()["anomalies"]
    assert (listed["metric"], listed["ts"], listed["value"]) == ("demo.spikes", spike_ts, 90.0)
    assert listed["low"] == low and listed["high"] == high and 0.5 < listed["score"] <= 1.0
    assert listed["detector"] == "robust"
    assert live_hub.get("/api/v1/anomalies", host="web-2").json()["anomalies"] == []
