"""The walking skeleton, end to end: a real agent process sends to a real hub process, and the
points come back through the HTTP API and a WebSocket client."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import websockets

from tests.support.hub_process import HOSTPULSE, LiveHub


def start_agent(hub: LiveHub, host: str, state_dir: Path, *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, "HOSTPULSE_TOKEN": hub.token(host), "HOSTPULSE_PLUGINS": "cpu,memory"}
    return subprocess.Popen(
        [HOSTPULSE, "agent", "--hub", hub.url, "--host", host, "--state-dir", str(state_dir), *extra],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def wait_for(predicate, timeout: float = 20.0, step: float = 0.25):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(step)
    raise AssertionError(f"condition not met within {timeout} s")


def cpu_total_points(hub: LiveHub, host: str) -> list[list[float]]:
    series = hub.get("/api/v1/series", host=host, metric="cpu.percent").json()["series"]
    total = [s for s in series if s["labels"] == {"cpu": "total"}]
    if not total:
        return []
    return hub.get(f"/api/v1/series/{total[0]['id']}/points").json()["points"]


async def first_points_frame(hub: LiveHub, host: str) -> dict:
    async with websockets.connect(hub.ws_url) as ws:
        await ws.send(json.dumps({"type": "subscribe", "hosts": [host], "metrics": ["cpu.percent"]}))
        while True:
            frame = json.loads(await asyncio.wait_for(ws.recv(), 15))
            if frame["type"] == "points":
                return frame


def test_agent_samples_reach_the_api_and_the_stream(live_hub: LiveHub, tmp_path: Path) -> None:
    agent = start_agent(live_hub, "e2e-host", tmp_path / "agent")
    try:
        points = wait_for(lambda: len(pts := cpu_total_points(live_hub, "e2e-host")) >= 3 and pts)
        assert all(0.0 <= value <= 100.0 for _, value in points)
        timestamps = [ts for ts, _ in points]
        assert timestamps == sorted(timestamps) and abs(timestamps[-1] - time.time() * 1000) < 30_000

        frame = asyncio.run(first_points_frame(live_hub, "e2e-host"))
        assert frame["host"] == "e2e-host"
        assert {s["metric"] for s in frame["series"]} == {"cpu.percent"}
        assert all(len(s["points"]) >= 1 for s in frame["series"])

        hosts = {h["name"]: h for h in live_hub.get("/api/v1/hosts").json()["hosts"]}
        assert hosts["e2e-host"]["online"] is True
        metrics = {s["metric"] for s in live_hub.get("/api/v1/series", host="e2e-host").json()["series"]}
        assert {"cpu.percent", "mem.used", "mem.percent"} <= metrics
    finally:
        agent.send_signal(signal.SIGTERM)
        output = agent.communicate(timeout=30)[0]
    assert agent.returncode == 0, output


def test_agent_once_prints_json_lines_and_sends_nothing(live_hub: LiveHub) -> None:
    env = {**os.environ, "HOSTPULSE_PLUGINS": "cpu,memory", "HOSTPULSE_TOKEN": live_hub.token("quiet-host")}
    out = subprocess.run(
        [HOSTPULSE, "agent", "--once", "--hub", live_hub.url, "--host", "quiet-host"],
        capture_output=True, text=True, timeout=60, env=env, check=True,
    )
    samples = [json.loads(line) for line in out.stdout.splitlines()]
    assert samples and all(set(s) == {"metric", "labels", "ts", "value", "unit"} for s in samples)
    assert {"cpu.percent", "mem.used"} <= {s["metric"] for s in samples}
    time.sleep(1)
    assert live_hub.get("/api/v1/series", host="quiet-host").json()["series"] == []
