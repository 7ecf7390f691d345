"""An agent whose clock is an hour off, in both directions: what the hub and the agent do about it.

The agent process runs with ``time.time``/``time.time_ns`` shifted before anything is imported, so
every timestamp it takes (sample ticks, batch ids) is off, as on a host with a wrong clock."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.reliability.fleet import FleetAgent, wait_until
from tests.reliability.scenarios import scenario
from tests.support.hub_process import LiveHub, now_ms

HOUR_S = 3600

SKEWED_MAIN = """
import os, time
_offset = float(os.environ["TEST_CLOCK_OFFSET_S"])
_time, _time_ns = time.time, time.time_ns
time.time = lambda: _time() + _offset
time.time_ns = lambda: _time_ns() + int(_offset * 1e9)
from hub.cli import main
main()
"""


def skewed_agent(hub: LiveHub, host: str, workdir: Path, offset_s: float) -> FleetAgent:
    agent = FleetAgent(hub, host, workdir, TEST_CLOCK_OFFSET_S=str(offset_s))
    assert agent.args[:2] == [sys.executable, "-c"]
    agent.args[2] = SKEWED_MAIN
    return agent


def dead_letters(agent: FleetAgent) -> list[dict]:
    path = agent.workdir / "state" / "deadletter.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@scenario(
    done="a real agent whose clock runs 1 h ahead of the hub's sent for a few seconds, then got "
         "SIGTERM",
    checked="the hub refuses every batch with 400 timestamp_out_of_range (max_future_s = 600 s) "
            "naming the accepted range and its own clock, and stores no sample; the agent writes "
            "each refused batch with that reason to state/deadletter.jsonl, logs an error naming "
            "the reason and the file, keeps running without a retry storm (spool empty) and exits "
            "0. Nothing on the hub side shows the skew (see docs/reliability.md, 'Clock skew')",
)
def test_agent_an_hour_ahead_is_refused_and_dead_lettered(live_hub: LiveHub, tmp_path: Path) -> None:
    agent = skewed_agent(live_hub, "ahead-host", tmp_path / "agent", HOUR_S)
    agent.start()
    try:
        wait_until(lambda: len(dead_letters(agent)) >= 3, "refused batches in the dead-letter file")
        assert not agent.spool_segments()
        stderr = agent.stop()
    finally:
        agent.stop_if_running()
    letters = dead_letters(agent)
    for letter in letters:
        assert letter["status"] == 400
        assert letter["reason"].startswith("400 timestamp_out_of_range:")
        assert "the hub's clock reads" in letter["reason"]
        sent = [ts for series in letter["batch"]["series"] for ts in series["ts"]]
        assert min(sent) > now_ms() + HOUR_S * 1000 - 120_000  # an hour ahead, as sent
    assert "timestamp_out_of_range" in stderr and "deadletter.jsonl" in stderr
    assert live_hub.get("/api/v1/series", host="ahead-host").json()["series"] == []
    [host] = [h for h in live_hub.get("/api/v1/hosts").json()["hosts"] if h["name"] == "ahead-host"]
    assert host["online"] is False  # the only sign on the hub: the host never shows up


@scenario(
    done="a real agent whose clock runs 1 h behind the hub's sent for a few seconds",
    checked="documents the current behaviour: the hub accepts every batch (within max_past_s, 30 "
            "days), stores the samples an hour in the past and shows the host online; neither side "
            "detects or reports the skew",
)
def test_agent_an_hour_behind_is_stored_an_hour_in_the_past(live_hub: LiveHub, tmp_path: Path) -> None:
    agent = skewed_agent(live_hub, "behind-host", tmp_path / "agent", -HOUR_S)
    agent.start()
    try:
        wait_until(lambda: live_hub.get("/api/v1/series", host="behind-host",
                                        metric="test.sequence").json()["series"], "a stored series")
        agent.stop()
    finally:
        agent.stop_if_running()
    assert dead_letters(agent) == []
    [series] = live_hub.get("/api/v1/series", host="behind-host", metric="test.sequence").json()["series"]
    now = now_ms()
    points = live_hub.get(f"/api/v1/series/{series['id']}/points", **{
        "from": now - 2 * HOUR_S * 1000, "to": now}).json()["points"]
    assert points
    assert all(abs(now - HOUR_S * 1000 - ts) < 120_000 for ts, *_ in points)
    [host] = [h for h in live_hub.get("/api/v1/hosts").json()["hosts"] if h["name"] == "behind-host"]
    assert host["online"] is True
