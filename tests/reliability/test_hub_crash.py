"""The hub SIGKILLed mid-ingest under load from real agents, restarted on the same SQLite file."""

from __future__ import annotations

import signal
import time
from pathlib import Path

from tests.reliability.fleet import (
    BALLAST,
    FleetAgent,
    assert_exactly_once,
    sequence_count,
    wait_delivering,
    wait_until,
)
from tests.reliability.scenarios import scenario
from tests.support.hub_process import start_hub

AGENTS = 3
KILLS = 2


@scenario(
    done=f"{AGENTS} `hostpulse agent` processes, each sending {BALLAST + 1} series every 0.2 s; the "
         f"hub SIGKILLed {KILLS} times while batches were in flight (the second time during the "
         "agents' replay), restarted each time on the same port and SQLite file; then the agents "
         "stopped with SIGTERM",
    checked="every series of every host holds exactly 1..N (N = the agent's last collection): "
            "each acknowledged batch survived the kill, every unacknowledged one was replayed, "
            "none stored twice; the agents exited 0 with their spools empty",
)
def test_hub_killed_under_load_loses_nothing_and_duplicates_nothing(tmp_path: Path) -> None:
    hub = start_hub(tmp_path / "hub")
    port = int(hub.url.rsplit(":", 1)[1])
    agents = [FleetAgent(hub, f"crash-{i}", tmp_path / f"agent-{i}") for i in range(AGENTS)]
    for agent in agents:
        agent.start()
    try:
        for _ in range(KILLS):
            wait_delivering(hub, agents)
            assert hub.stop(signal.SIGKILL) == -signal.SIGKILL
            time.sleep(1.0)  # agents find the hub gone and spool
            hub = start_hub(tmp_path / "hub", db=hub.db, port=port)
        for agent in agents:
            target = agent.collected()
            wait_until(lambda a=agent, t=target: sequence_count(hub, a.host) >= t,
                       f"{agent.host} replaying", timeout=90)
        for agent in agents:
            agent.stop()  # SIGTERM: the last batches are flushed to the hub, answered 2xx
        totals = [assert_exactly_once(hub, agent) for agent in agents]
        print(f"samples per host: {[n * (BALLAST + 1) for n in totals]}")
        assert all(not agent.spool_segments() for agent in agents)
    finally:
        for agent in agents:
            agent.stop_if_running()
        hub.stop()
