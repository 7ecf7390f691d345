"""The agent measures its clock against the hub's, through a real hub and a real agent whose clock
is shifted (``time.time``/``time.time_ns`` moved before anything is imported, as in
tests/reliability/test_clock_skew.py; here SIGUSR1 also sets the clock right mid-run)."""

from __future__ import annotations

import re
import signal
from pathlib import Path

from hostpulse.agent.deliver.clock import ClockCheck, http_date
from hostpulse.agent.stats import Stats
from tests.agent.sink import Sink
from tests.agent.test_runner import Agent
from tests.reliability import test_clock_skew as reliability
from tests.reliability.fleet import FleetAgent, wait_until
from tests.reliability.test_clock_skew import HOUR_S, SLACK_S, dead_letters
from tests.support.hub_process import LiveHub, now_ms

#: SKEWED_MAIN of tests/reliability/test_clock_skew.py, plus SIGUSR1: "the clock is right now".
SKEWED_MAIN = """
import os, signal, time
_offset = float(os.environ["TEST_CLOCK_OFFSET_S"])
_time, _time_ns = time.time, time.time_ns
time.time = lambda: _time() + _offset
time.time_ns = lambda: _time_ns() + int(_offset * 1e9)
def _fix(*_):
    global _offset
    _offset = 0.0
signal.signal(signal.SIGUSR1, _fix)
from hostpulse.hub.commands.main import main
main()
"""

AHEAD = re.compile(r"WARNING hostpulse\.agent\.clock: this host's clock is (\d+) s ahead of the hub's "
                   r"\(this host: [^,]+ UTC, hub: [^)]+ UTC\): its batches will be refused beyond "
                   r"the hub's max_future_s")
BEHIND = re.compile(r"WARNING hostpulse\.agent\.clock: this host's clock is (\d+) s behind the hub's "
                    r"\(this host: [^,]+ UTC, hub: [^)]+ UTC\): samples are stored in the past")
AGREES = "INFO hostpulse.agent.clock: this host's clock agrees with the hub's again"


def skewed_agent(hub: LiveHub, host: str, workdir: Path, offset_s: float) -> FleetAgent:
    agent = reliability.skewed_agent(hub, host, workdir, offset_s)
    agent.args[2] = SKEWED_MAIN
    # The agent's own series every half second rather than every 10 s.
    config = workdir / "agent.toml"
    config.write_text("[plugins.agent]\ninterval = 0.5\n")
    agent.args += ["--config", str(config)]
    return agent


def offsets_in(letter: dict) -> list[float]:
    return [value for series in letter["batch"]["series"]
            if series["metric"] == "agent.clock_offset_seconds" for value in series["values"]]


def test_an_agent_an_hour_ahead_warns_once_reports_it_and_says_when_it_is_right_again(
    live_hub: LiveHub, tmp_path: Path
) -> None:
    agent = skewed_agent(live_hub, "ahead-agent", tmp_path / "agent", HOUR_S)
    agent.start()
    try:
        # Refused batches (400 timestamp_out_of_range) carry a Date too: the offset is measured
        # from them, and published in the agent's own series of the next batches.
        wait_until(lambda: any(offsets_in(letter) for letter in dead_letters(agent)),
                   "a refused batch holding agent.clock_offset_seconds")
        wait_until(lambda: len(dead_letters(agent)) >= 4, "more refused batches")
        assert agent.process is not None
        agent.process.send_signal(signal.SIGUSR1)  # the host's clock is set right
        wait_until(lambda: live_hub.get("/api/v1/series", host="ahead-agent",
                                        metric="agent.clock_offset_seconds").json()["series"],
                   "the offset series stored once the clock is right")
        stderr = agent.stop()
    finally:
        agent.stop_if_running()
    letters = dead_letters(agent)
    measured = [value for letter in letters for value in offsets_in(letter)]
    # An hour ahead, then (a batch collected before the fix and refused after it) in agreement.
    assert measured and abs(measured[0] - HOUR_S) <= SLACK_S, measured
    assert all(abs(value - HOUR_S) <= SLACK_S or abs(value) <= SLACK_S for value in measured)
    warnings = AHEAD.findall(stderr)
    assert len(warnings) == 1, stderr  # once, not once per refused batch
    assert abs(int(warnings[0]) - HOUR_S) <= SLACK_S
    assert stderr.count(AGREES) == 1, stderr
    assert stderr.index(AGREES) > stderr.index("ahead of the hub's")
    [series] = live_hub.get("/api/v1/series", host="ahead-agent",
                            metric="agent.clock_offset_seconds").json()["series"]
    assert series["unit"] == "s"
    now = now_ms()
    points = live_hub.get(f"/api/v1/series/{series['id']}/points",
                          **{"from": now - 600_000, "to": now + 60_000}).json()["points"]
    assert points and all(abs(value) <= SLACK_S for _, value, *_ in points), points


def test_an_agent_an_hour_behind_warns_that_samples_are_stored_in_the_past(
    live_hub: LiveHub, tmp_path: Path
) -> None:
    agent = skewed_agent(live_hub, "behind-agent", tmp_path / "agent", -HOUR_S)
    agent.start()

    def stored_offsets() -> list[float]:
        series = live_hub.get("/api/v1/series", host="behind-agent",
                              metric="agent.clock_offset_seconds").json()["series"]
        if not series:
            return []
        now = now_ms()
        points = live_hub.get(f"/api/v1/series/{series[0]['id']}/points", **{
            "from": now - 2 * HOUR_S * 1000, "to": now}).json()["points"]
        return [value for _, value, *_ in points]

    try:
        wait_until(lambda: len(stored_offsets()) >= 3, "the offset stored, an hour in the past")
        stderr = agent.stop()
    finally:
        agent.stop_if_running()
    assert all(abs(value + HOUR_S) <= SLACK_S for value in stored_offsets())
    warnings = BEHIND.findall(stderr)
    assert len(warnings) == 1, stderr
    assert abs(int(warnings[0]) - HOUR_S) <= SLACK_S
    assert AGREES not in stderr and dead_letters(agent) == []


def test_the_warning_comes_again_only_when_the_offset_moves_by_more_than_clock_warn_s(caplog):
    caplog.set_level("INFO", "hostpulse.agent.clock")
    stats = Stats()
    check = ClockCheck(30.0, stats)
    hub = 1_800_000_000.0

    def answer(offset: float) -> float | None:
        # The hub's Date says second ``hub``; it answered somewhere in it, on average mid-way.
        return check.observe(hub + 0.6 + offset, 0.2, http_date(hub))

    assert [answer(o) for o in (0, 10, -29)] == [0, 10, -29]
    assert caplog.records == []
    assert answer(100) == 100 and answer(120) == 120 and answer(125) == 125  # within 30 s of 100
    assert answer(140) == 140  # 40 s from the 100 warned about
    assert answer(2) == 2 and answer(-3) == -3
    assert answer(-31) == -31
    expected = [
        ("WARNING", "this host's clock is 100 s ahead of the hub's ("),
        ("WARNING", "this host's clock is 140 s ahead of the hub's ("),
        ("INFO", "this host's clock agrees with the hub's again (+2 s, "),
        ("WARNING", "this host's clock is 31 s behind the hub's ("),
    ]
    got = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert len(got) == len(expected), got
    for (level, message), (want_level, start) in zip(got, expected, strict=True):
        assert level == want_level and message.startswith(start), message
    assert stats.clock_offset_s == -31
    assert check.observe(hub, 0.0, None) is None and check.observe(hub, 0.0, "yesterday") is None
    assert stats.clock_offset_s == -31


def test_a_clock_stepped_during_a_request_gives_the_new_clocks_offset() -> None:
    """An hour-ahead clock set right while a POST is out: the answer measures the clock as it is
    now (0 s), not halfway between the two (1,800 s)."""
    stats = Stats()
    check = ClockCheck(30.0, stats)
    hub = 1_800_000_000.0
    # Sent at hub + 0.4 + 1 h by the old clock, answered 0.2 s later, received by the new clock.
    assert check.observe(hub + 0.6, 0.2, http_date(hub)) == 0
    assert stats.clock_offset_s == 0


def test_every_post_carries_a_date_header(sink: Sink, tmp_path: Path) -> None:
    """The hub measures the agent from it (the stand-in hub records the headers it gets)."""
    agent = Agent(sink.url, sink.token, tmp_path)
    agent.start()
    try:
        assert sink.wait_for(lambda s: len(s.requests) >= 2)
    finally:
        agent.stop()
    for request in sink.requests:
        date = request.headers.get("Date")
        assert date and re.fullmatch(r"\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT", date), date
