"""An agent whose clock is an hour off, in both directions: detected, reported, handled.

The agent stamps the HTTP ``Date`` header of each ingest request with its own clock; the hub
compares it with its own (hub/clock.py) and reports the offset in ``GET /api/v1/hosts``
(``clock_offset_s``), in ``/metrics`` (``hostpulse_host_clock_offset_seconds``) and in the message
of a batch refused as out of range.

The real-agent scenarios run ``hostpulse agent`` with ``time.time``/``time.time_ns`` shifted before
anything is imported, so every timestamp it takes (sample ticks, batch ids, the Date header) is
off, as on a host with a wrong clock. The hub-only scenarios send the Date header themselves."""

from __future__ import annotations

import json
import re
import sqlite3
import sys
import time
import uuid
from email.utils import formatdate
from pathlib import Path

import httpx

from tests.reliability.fleet import FleetAgent, wait_until
from tests.reliability.scenarios import scenario
from tests.support.hub_process import LiveHub, make_batch, now_ms, start_hub

HOUR_S = 3600
#: How far a measured offset may be from the skew applied: the Date header has whole seconds and
#: the request spends some time in transit and in the hub's queue on a loaded machine.
SLACK_S = 5

SKEWED_MAIN = """
import os, time
_offset = float(os.environ["TEST_CLOCK_OFFSET_S"])
_time, _time_ns = time.time, time.time_ns
time.time = lambda: _time() + _offset
time.time_ns = lambda: _time_ns() + int(_offset * 1e9)
from hostpulse.hub.commands.main import main
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


def host_record(hub: LiveHub, name: str) -> dict:
    [host] = [h for h in hub.get("/api/v1/hosts").json()["hosts"] if h["name"] == name]
    return host


def gauges(hub: LiveHub) -> dict[str, float]:
    """hostpulse_host_clock_offset_seconds per host, read from /metrics."""
    found = re.findall(r'^hostpulse_host_clock_offset_seconds\{host="([^"]*)"\} (\S+)$',
                       hub.get("/metrics").text, re.MULTILINE)
    return {host: float(value) for host, value in found}


def assert_reported(hub: LiveHub, host: str, offset_s: float) -> None:
    """The hub reports ``offset_s`` for ``host`` in /api/v1/hosts and in /metrics."""
    record = host_record(hub, host)
    assert record["clock_offset_s"] is not None, record
    assert abs(record["clock_offset_s"] - offset_s) <= SLACK_S, record
    assert abs(record["clock_checked_at"] - now_ms()) < 120_000, record
    assert abs(gauges(hub)[host] - offset_s) <= SLACK_S


def post_dated(hub: LiveHub, host: str, *, ts_off_s: float, clock_off_s: float | None = None,
               date: str | None = None) -> httpx.Response:
    """One sample stamped ``ts_off_s`` from now, sent with a Date header ``clock_off_s`` off the
    real clock (or the literal ``date``; neither: no Date header), as an agent would."""
    headers = {"Authorization": f"Bearer {hub.token(host)}"}  # first: the CLI takes a while
    now = time.time()
    body = make_batch(host, [{"metric": "test.clock", "labels": {}, "unit": "",
                              "ts": [int((now + ts_off_s) * 1000)], "values": [1.0]}])
    if clock_off_s is not None:
        date = formatdate(now + clock_off_s, usegmt=True)
    if date is not None:
        headers["Date"] = date
    return httpx.post(f"{hub.url}/api/v1/ingest", json=body, headers=headers, timeout=30)


def stored_clock(hub: LiveHub, host: str) -> tuple[int | None, int | None]:
    """(clock_offset_ms, clock_checked_at) as the hub wrote them to its SQLite file."""
    path = hub.db.removeprefix("sqlite://")
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        row = db.execute("SELECT clock_offset_ms, clock_checked_at FROM hosts WHERE name = ?",
                         (host,)).fetchone()
    return row


@scenario(
    done="a real agent whose clock runs 1 h ahead of the hub's sent for a few seconds, then got "
         "SIGTERM",
    checked="detected: the hub measures the agent's clock 3600 s ahead from its requests' Date "
            "header and reports it as clock_offset_s in /api/v1/hosts and as "
            "hostpulse_host_clock_offset_seconds in /metrics; handled: every batch is refused 400 "
            "timestamp_out_of_range (max_future_s = 600 s) naming the accepted range, the hub's "
            "clock and 'the agent's clock is 3600 s ahead', no sample stored, the host offline; "
            "the agent writes each refused batch with that reason to state/deadletter.jsonl, logs "
            "it, keeps running without a retry storm (spool empty) and exits 0",
)
def test_agent_an_hour_ahead_is_detected_reported_and_refused(
    live_hub: LiveHub, tmp_path: Path
) -> None:
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
        ahead = re.search(r"the agent's clock is (\d+) s ahead of the hub's", letter["reason"])
        assert ahead and abs(int(ahead[1]) - HOUR_S) <= SLACK_S, letter["reason"]
        sent = [ts for series in letter["batch"]["series"] for ts in series["ts"]]
        assert min(sent) > now_ms() + HOUR_S * 1000 - 120_000  # an hour ahead, as sent
    assert "timestamp_out_of_range" in stderr and "deadletter.jsonl" in stderr
    assert live_hub.get("/api/v1/series", host="ahead-host").json()["series"] == []
    assert host_record(live_hub, "ahead-host")["online"] is False
    assert_reported(live_hub, "ahead-host", HOUR_S)


@scenario(
    done="a real agent whose clock runs 1 h behind the hub's sent for a few seconds",
    checked="detected: the hub measures the agent's clock 3600 s behind from its requests' Date "
            "header and reports it in /api/v1/hosts (clock_offset_s) and /metrics; handled: every "
            "batch is accepted (within max_past_s, 30 days) and stored an hour in the past, the "
            "host shows online (judged by arrival), nothing is dead-lettered",
)
def test_agent_an_hour_behind_is_detected_reported_and_stored_in_the_past(
    live_hub: LiveHub, tmp_path: Path
) -> None:
    agent = skewed_agent(live_hub, "behind-host", tmp_path / "agent", -HOUR_S)
    agent.start()
    try:
        wait_until(lambda: live_hub.get("/api/v1/series", host="behind-host",
                                        metric="test.sequence").json()["series"], "a stored series")
        agent.stop()
    finally:
        agent.stop_if_running()
    assert dead_letters(agent) == []
    [series] = live_hub.get("/api/v1/series", host="behind-host",
                            metric="test.sequence").json()["series"]
    now = now_ms()
    points = live_hub.get(f"/api/v1/series/{series['id']}/points", **{
        "from": now - 2 * HOUR_S * 1000, "to": now}).json()["points"]
    assert points
    assert all(abs(now - HOUR_S * 1000 - ts) < 120_000 for ts, *_ in points)
    assert host_record(live_hub, "behind-host")["online"] is True
    assert_reported(live_hub, "behind-host", -HOUR_S)


@scenario(
    done="posted batches with a Date header an hour ahead (samples an hour ahead), an hour behind "
         "(samples an hour behind), in time (one batch with samples 2 h ahead), without a Date "
         "header and with an unparseable one",
    checked="the hour-ahead batch is refused 400 timestamp_out_of_range saying 'the agent's clock "
            "is 3600 s ahead of the hub's', the in-time host's out-of-range batch says its clock "
            "agrees with the hub's; /api/v1/hosts and /metrics report +3600 s, -3600 s and ~0 s; "
            "hosts without a usable Date have clock_offset_s null and no gauge; clock_warn_s (30) "
            "is in /api/v1/hosts",
)
def test_the_date_header_measures_each_hosts_clock(live_hub: LiveHub) -> None:
    refused = post_dated(live_hub, "ahead", ts_off_s=HOUR_S, clock_off_s=HOUR_S)
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["code"] == "timestamp_out_of_range"
    ahead = re.search(r"the agent's clock is (\d+) s ahead of the hub's", error["message"])
    assert ahead and abs(int(ahead[1]) - HOUR_S) <= SLACK_S, error

    accepted = post_dated(live_hub, "behind", ts_off_s=-HOUR_S, clock_off_s=-HOUR_S)
    assert accepted.status_code == 200, accepted.text

    assert post_dated(live_hub, "in-time", ts_off_s=0, clock_off_s=0).status_code == 200
    wrong_stamps = post_dated(live_hub, "in-time", ts_off_s=2 * HOUR_S, clock_off_s=0)
    assert wrong_stamps.status_code == 400
    assert "the agent's clock agrees with the hub's" in wrong_stamps.json()["error"]["message"]

    assert post_dated(live_hub, "no-date", ts_off_s=0).status_code == 200
    assert post_dated(live_hub, "bad-date", ts_off_s=0, date="yesterday").status_code == 200
    no_date = post_dated(live_hub, "no-date", ts_off_s=2 * HOUR_S)
    assert "the agent's clock" not in no_date.json()["error"]["message"]

    assert_reported(live_hub, "ahead", HOUR_S)
    assert_reported(live_hub, "behind", -HOUR_S)
    assert_reported(live_hub, "in-time", 0)
    for name in ("no-date", "bad-date"):
        record = host_record(live_hub, name)
        assert record["clock_offset_s"] is None and record["clock_checked_at"] is None, record
        assert name not in gauges(live_hub)
    assert live_hub.get("/api/v1/hosts").json()["clock_warn_s"] == 30


@scenario(
    done="a host posted with its Date header an hour behind, three more times at the same offset, "
         "then 10 s further behind; another host posted after each; the hub was restarted on the "
         "same SQLite file",
    checked="the offset is written to hosts.clock_offset_ms once, not rewritten for the requests "
            "at the same offset (another host's later write lands meanwhile), rewritten when it "
            "moves by more than 1 s; after the restart /api/v1/hosts still reports the stored "
            "offset and when it was measured",
)
def test_offsets_are_stored_sparingly_and_survive_a_restart(live_hub: LiveHub) -> None:
    def post(host: str, offset_s: float) -> None:
        answer = post_dated(live_hub, host, ts_off_s=offset_s, clock_off_s=offset_s)
        assert answer.status_code == 200, answer.text

    post("laggard", -HOUR_S)
    wait_until(lambda: stored_clock(live_hub, "laggard")[0] is not None, "the first write")
    first = stored_clock(live_hub, "laggard")
    assert abs(first[0] / 1000 + HOUR_S) <= SLACK_S
    for _ in range(3):
        post("laggard", -HOUR_S)
    # A write scheduled after those requests: once it has landed, any of theirs would have too.
    sentinel = f"sentinel-{uuid.uuid4().hex[:6]}"
    post(sentinel, 0)
    wait_until(lambda: stored_clock(live_hub, sentinel)[0] is not None, "the other host's write")
    assert stored_clock(live_hub, "laggard") == first
    assert host_record(live_hub, "laggard")["clock_checked_at"] > first[1]  # memory is newer

    post("laggard", -HOUR_S - 10)
    wait_until(lambda: stored_clock(live_hub, "laggard") != first, "the write of a moved offset")
    moved = stored_clock(live_hub, "laggard")
    assert abs(moved[0] / 1000 + HOUR_S + 10) <= SLACK_S

    live_hub.stop()
    restarted = start_hub(live_hub.workdir, db=live_hub.db)
    try:
        record = host_record(restarted, "laggard")
        assert record["clock_offset_s"] == round(moved[0] / 1000, 1)
        assert record["clock_checked_at"] == moved[1]
    finally:
        restarted.stop()
