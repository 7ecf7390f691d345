"""An agent SIGKILLed with a full spool while the hub is down, restarted once the hub is back."""

from __future__ import annotations

import shutil
from pathlib import Path

from hostpulse.agent.deliver.batch import decode
from hostpulse.agent.deliver.diskspool import DiskSpool
from hostpulse.agent.stats import Stats
from tests.reliability.fleet import FleetAgent, stored_values, wait_delivering, wait_until
from tests.reliability.scenarios import scenario
from tests.support.hub_process import start_hub

#: Small enough that a few seconds of outage fill it and the oldest batches are dropped.
SPOOL_BYTES = 6_000


def spooled_sequence(spool_dir: Path, scratch: Path) -> tuple[list[float], int]:
    """The test.sequence values of the batches a dead agent left in its spool, and their bytes.

    Read from a copy with the agent's own DiskSpool, so the original is left as the agent left it."""
    shutil.copytree(spool_dir, scratch)
    spool = DiskSpool(scratch, SPOOL_BYTES, Stats())
    held = spool._bytes
    values: list[float] = []
    while (batch := spool.peek()) is not None:
        for series in decode(batch.body)["series"]:
            if series["metric"] == "test.sequence":
                values.extend(series["values"])
        spool.ack()
    spool.close()
    return sorted(values), held


@scenario(
    done=f"the hub stopped; a real agent spooled until its {SPOOL_BYTES} B disk spool was full and "
         "dropping its oldest batches; the agent SIGKILLed; the hub started again on the same file; "
         "the agent restarted on the same state directory, then stopped with SIGTERM",
    checked="the killed agent's spool held at most its bound and had dropped the oldest batches; "
            "after the restart every spooled batch reached the hub, every series holds each value "
            "at most once, and the only missing values are the dropped-oldest ones and the last "
            "tick(s) in memory at the kill; the spool is empty at the end",
)
def test_agent_killed_with_a_full_spool_replays_it(tmp_path: Path) -> None:
    hub = start_hub(tmp_path / "hub")
    port = int(hub.url.rsplit(":", 1)[1])
    agent = FleetAgent(hub, "spool-host", tmp_path / "agent",
                       HOSTPULSE_SPOOL_MAX_BYTES=str(SPOOL_BYTES))
    agent.start()
    try:
        wait_delivering(hub, [agent])
        hub.stop()
        down_at = agent.collected()
        spool_files = lambda: sum(p.stat().st_size for p in agent.spool_segments())
        # The outage began with an empty spool, so files past the bound mean the oldest were dropped.
        wait_until(lambda: spool_files() > SPOOL_BYTES * 5 // 4, "the spool to fill", timeout=60)
        agent.kill()
        killed_at = agent.collected()
        spooled, held = spooled_sequence(tmp_path / "agent" / "state" / "spool", tmp_path / "copy")
        assert spooled and held <= SPOOL_BYTES
        assert spooled[0] > down_at + 1, "nothing was dropped: the spool was not full"
        hub = start_hub(tmp_path / "hub", db=hub.db, port=port)
        agent.start()
        wait_until(lambda: not agent.spool_segments(), "the spool to replay", timeout=60)
        wait_delivering(hub, [agent])
        agent.stop()
        last = agent.collected()
        values = stored_values(hub, agent.host)
        sequence = values[("test.sequence", "[]")]
        assert len(sequence) == len(set(sequence)), "a value was stored twice"
        assert set(spooled) <= set(sequence), "a spooled batch was not replayed"
        missing = sorted(set(map(float, range(1, last + 1))) - set(sequence))
        dropped = [v for v in missing if v < spooled[0]]
        in_memory = [v for v in missing if v > spooled[-1]]
        assert len(dropped) + len(in_memory) == len(missing), f"lost mid-spool: {missing}"
        # The oldest batches of the outage were dropped, one contiguous run up to the spool's head;
        # what was lost at the kill is the tail that had not been sealed yet.
        assert dropped and dropped == [float(v) for v in range(int(dropped[0]), int(spooled[0]))]
        assert dropped[0] <= down_at + 1
        assert all(v <= killed_at for v in in_memory)
        for key, got in values.items():
            assert len(got) == len(set(got)), f"{key} holds a value twice"
        print(f"hub down after {down_at}; {len(dropped)} ticks dropped from the full spool, which "
              f"kept {spooled[0]:g}..{spooled[-1]:g} ({held} B); killed at {killed_at}; "
              f"{len(in_memory)} tick(s) lost in memory")
    finally:
        agent.stop_if_running()
        hub.stop()
