"""The agent against the real hub: an outage and an agent restart, and every sample stored once."""

from __future__ import annotations

import time
from pathlib import Path

from tests.agent.test_runner import OUTAGE, Agent
from tests.support.hub_process import LiveHub, start_hub

HOST = "outage-host"  # the host name tests.agent.test_runner.Agent runs as


def stored(hub: LiveHub) -> list[float]:
    """Every value of test.sequence the hub has stored, raw, sorted."""
    series = hub.get("/api/v1/series", host=HOST, metric="test.sequence").json()["series"]
    if not series:
        return []
    answer = hub.get(f"/api/v1/series/{series[0]['id']}/points", max_points=100_000).json()
    assert answer["tier"] == "raw"
    return sorted(point[1] for point in answer["points"])


def wait_stored(hub: LiveHub, agent: Agent, count: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while len(stored(hub)) < count:
        assert time.monotonic() < deadline, f"the hub has {len(stored(hub))} of {count} samples"
        assert agent.process is not None and agent.process.poll() is None
        time.sleep(0.2)


def test_every_sample_reaches_the_real_hub_exactly_once_through_an_outage(tmp_path: Path):
    hub = start_hub(tmp_path / "hub")
    port = int(hub.url.rsplit(":", 1)[1])
    agent = Agent(hub.url, hub.token(HOST), tmp_path / "agent")
    agent.start()
    try:
        wait_stored(hub, agent, 3)
        hub.stop()  # the hub goes away
        down_at = agent.collected()
        agent.wait_collected(down_at + max(3, int(OUTAGE / 2 / 0.2)))
        agent.stop()  # SIGTERM while the hub is away: to the disk spool
        agent.start()
        agent.wait_collected(down_at + max(6, int(OUTAGE / 0.2)))
        hub = start_hub(tmp_path / "hub", db=hub.db, port=port)  # back, same port, same database
        wait_stored(hub, agent, agent.collected())
    finally:
        if agent.process is not None and agent.process.poll() is None:
            agent.stop()
    try:
        # The agent's SIGTERM flush got a 2xx for each batch, so each is already committed.
        assert stored(hub) == [float(n) for n in range(1, agent.collected() + 1)]  # none missing, none twice
    finally:
        hub.stop()
