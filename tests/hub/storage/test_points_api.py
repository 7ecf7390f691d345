"""GET /api/v1/series/{id}/points against a real hub whose compactor runs: raw points come back
exactly before and after compaction, and a zoomed-out answer keeps the spike."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from tests.support.hub_process import LiveHub, now_ms, start_hub

HOUR = 3_600_000


@pytest.fixture
def compacting_hub(tmp_path: Path):
    hub = start_hub(tmp_path / "hub", env={
        "HOSTPULSE_CHUNK_WINDOW_S": "3600",
        "HOSTPULSE_COMPACT_DELAY_S": "0",
        "HOSTPULSE_COMPACT_INTERVAL_S": "0.2",
    })
    try:
        yield hub
    finally:
        hub.stop()


def chunk_count(hub: LiveHub) -> int:
    with sqlite3.connect(hub.db.removeprefix("sqlite://")) as conn:
        return conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]


def test_points_read_the_same_before_and_after_compaction(compacting_hub: LiveHub) -> None:
    hub = compacting_hub
    # Two closed hours, whole hours ago, plus the open one: 1 s points with one spike.
    start = (now_ms() // HOUR - 2) * HOUR
    end = now_ms()
    ts = list(range(start, end, 1000))
    values = [round(20 + (i % 60) / 10, 1) for i in range(len(ts))]
    values[1234] = 97.5
    for lo in range(0, len(ts), 900):  # max_points_per_series is 1,000
        response = hub.post_batch("web-1", [{"metric": "cpu.percent", "labels": {}, "unit": "%",
                                             "ts": ts[lo : lo + 900], "values": values[lo : lo + 900]}])
        assert response.status_code == 200, response.text
    sid = hub.get("/api/v1/series", host="web-1").json()["series"][0]["id"]
    deadline = time.monotonic() + 30
    while chunk_count(hub) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert chunk_count(hub) >= 2, hub.log()  # 3 if the hour turned meanwhile

    exact = hub.get(f"/api/v1/series/{sid}/points", **{"from": start, "to": end, "max_points": 100_000}).json()
    assert exact["tier"] == "raw"
    assert exact["points"] == [[t, v] for t, v in zip(ts, values, strict=True)]

    zoomed = hub.get(f"/api/v1/series/{sid}/points", **{"from": start, "to": end, "max_points": 40}).json()
    assert zoomed["tier"] == "1m" and 0 < len(zoomed["points"]) <= 40
    assert all(len(p) == 4 for p in zoomed["points"])
    assert max(p[3] for p in zoomed["points"]) == 97.5
    assert min(p[2] for p in zoomed["points"]) == 20.0
    month = hub.get(f"/api/v1/series/{sid}/points", **{"from": end - 30 * 24 * HOUR, "to": end,
                                                         "max_points": 100}).json()
    assert month["tier"] == "1h" and max(p[3] for p in month["points"]) == 97.5
