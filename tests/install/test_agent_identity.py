"""An agent whose state dir holds an earlier identity's batches, against the real hub.

Each case: the current host's samples reach the hub within 10 s of the agent starting, and every
old batch is accounted for — in the dead-letter file with the reason, none stored as the new host.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

from hostpulse.agent.collect.point import CheckedSample
from hostpulse.agent.deliver.batch import Batcher
from hostpulse.agent.deliver.diskspool import DiskSpool
from hostpulse.agent.stats import Stats
from tests.agent.conftest import ROOT, hostpulse, write_plugin
from tests.agent.test_runner import SEQUENCE
from tests.support.hub_process import LiveHub, free_port, run_cli, start_hub

#: The issue's bar: from the agent's start to the current host's first sample on the hub.
FIRST_SAMPLE_S = 10.0


class Agent:
    """``hostpulse agent`` as a subprocess, collecting 1, 2, 3 … as test.sequence every 0.2 s."""

    def __init__(self, tmp_path: Path, name: str, *, host: str, hub: str, token: str) -> None:
        state = tmp_path / "state"
        write_plugin(tmp_path / "plugins", "sequence", SEQUENCE)
        self.counter = tmp_path / f"{name}.sequence"
        self.deadletter = state / "deadletter.jsonl"
        self.args = hostpulse(
            "agent", "--hub", hub, "--host", host, "--plugin-dir", str(tmp_path / "plugins"),
            "--state-dir", str(state), "--source", "sequence",
        )
        self.env = {**os.environ, "HOSTPULSE_TOKEN": token, "SEQUENCE_FILE": str(self.counter),
                    "HOSTPULSE_BATCH_MAX_AGE": "0.2", "HOSTPULSE_PLUGINS": ""}
        self.log = tmp_path / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> float:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(self.args, env=self.env, cwd=ROOT, stdout=log, stderr=log)
        return time.monotonic()

    def collected(self) -> int:
        try:
            return int(self.counter.read_text())
        except (OSError, ValueError):
            return 0

    def wait_collected(self, n: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while self.collected() < n:
            assert self.process is not None and self.process.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, "the agent stopped collecting"
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def stored(hub: LiveHub, host: str) -> list[float]:
    series = hub.get("/api/v1/series", host=host, metric="test.sequence").json()["series"]
    if not series:
        return []
    points = hub.get(f"/api/v1/series/{series[0]['id']}/points", max_points=100_000).json()["points"]
    return sorted(point[1] for point in points)


def wait_first_sample(hub: LiveHub, host: str, agent: Agent, started: float) -> float:
    """Seconds from ``started`` to ``host``'s first stored sample; fails past FIRST_SAMPLE_S."""
    while not stored(hub, host):
        elapsed = time.monotonic() - started
        assert elapsed < FIRST_SAMPLE_S, f"no sample of {host} after {elapsed:.1f}s:\n{agent.log.read_text()}"
        assert agent.process is not None and agent.process.poll() is None, agent.log.read_text()
        time.sleep(0.1)
    return time.monotonic() - started


def dead_letters(agent: Agent) -> list[dict[str, object]]:
    if not agent.deadletter.exists():
        return []
    return [json.loads(line) for line in agent.deadletter.read_text().splitlines()]


def dead_values(records: list[dict[str, object]]) -> list[float]:
    values: list[float] = []
    for record in records:
        batch = record["batch"]
        assert isinstance(batch, dict)
        for series in batch["series"]:
            values.extend(series["values"])
    return sorted(values)


def spool_while_away(tmp_path: Path, *, host: str, hub: str, count: int) -> Agent:
    """An agent as ``host`` for ``hub`` that is not answering: ``count``+ samples go to the spool."""
    old = Agent(tmp_path, "old", host=host, hub=hub, token="hp_unused")
    old.start()
    try:
        old.wait_collected(count)
    finally:
        old.stop()
    assert list((tmp_path / "state" / "spool").glob("*.seg")), old.log.read_text()
    return old


def test_renamed_host_with_a_full_spool(tmp_path: Path) -> None:
    hub = start_hub(tmp_path / "hub")
    # The spool as host a left it: at its bound, older batches already dropped for room.
    stats = Stats()
    spool = DiskSpool(tmp_path / "state" / "spool", 1_000_000, stats)
    batcher = Batcher("a", max_samples=10, max_age=60, hub=hub.url)
    while not stats.dropped["spool_full"]:
        for batch in batcher.add(CheckedSample("test.sequence", (), "", 1000 * i, -1.0) for i in range(100)):
            spool.append(batch)
    spooled, spooled_samples = len(spool), stats.spool_batches * 10
    spool.close()
    agent = Agent(tmp_path, "b", host="b", hub=hub.url, token=hub.token("b"))
    try:
        wait_first_sample(hub, "b", agent, agent.start())
        deadline = time.monotonic() + 30
        while len(dead_letters(agent)) < spooled:
            assert time.monotonic() < deadline, f"{len(dead_letters(agent))} of {spooled} dead-lettered"
            time.sleep(0.2)
        assert stored(hub, "a") == [] and -1.0 not in stored(hub, "b")
    finally:
        agent.stop()
        hub.stop()
    records = dead_letters(agent)
    assert len(records) == spooled and sum(int(r["samples"]) for r in records) == spooled_samples  # type: ignore[call-overload]
    assert {r["reason"] for r in records} == {"collected as host 'a', this agent is 'b'"}
    assert "hub refused" in agent.log.read_text() and "foreign_host" in agent.log.read_text()


def test_two_agents_on_one_state_dir(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    first = Agent(tmp_path, "a", host="a", hub=url, token="hp_unused")
    first.start()
    try:
        first.wait_collected(10)  # the hub is not up yet: a's batches are spooled
        second = subprocess.run(
            hostpulse("agent", "--hub", url, "--host", "b", "--state-dir", str(tmp_path / "state")),
            env={**os.environ, "HOSTPULSE_TOKEN": "hp_unused"}, cwd=ROOT, capture_output=True,
            text=True, timeout=60, check=False,
        )
        assert second.returncode != 0 and f"PID {first.process.pid}" in second.stderr  # type: ignore[union-attr]
    finally:
        first.stop()
    hub = start_hub(tmp_path / "hub", port=port)
    agent = Agent(tmp_path, "b", host="b", hub=url, token=hub.token("b"))
    try:
        wait_first_sample(hub, "b", agent, agent.start())
        deadline = time.monotonic() + 30
        while dead_values(dead_letters(agent)) != [float(n) for n in range(1, first.collected() + 1)]:
            assert time.monotonic() < deadline, dead_values(dead_letters(agent))
            time.sleep(0.2)
        assert stored(hub, "a") == []
    finally:
        agent.stop()
        hub.stop()


def test_revoked_token(tmp_path: Path) -> None:
    hub = start_hub(tmp_path / "hub")
    agent = Agent(tmp_path, "b", host="b", hub=hub.url, token=hub.token("b"))
    try:
        wait_first_sample(hub, "b", agent, agent.start())
        run_cli("token", "revoke", "b", "--db", hub.db)
        deadline = time.monotonic() + 30
        while not dead_letters(agent):  # refused batches are not retried forever, nor lost
            assert time.monotonic() < deadline, agent.log.read_text()
            time.sleep(0.2)
        agent.wait_collected(agent.collected() + 5)
        agent.stop()
        refused = dead_letters(agent)
        assert {r["reason"] for r in refused} == {"401 invalid_token: unknown or revoked token"}
        assert "hub refused" in agent.log.read_text()
        before = len(stored(hub, "b"))
        agent.env["HOSTPULSE_TOKEN"] = run_cli("token", "create", "b", "--db", hub.db).stdout.strip().splitlines()[-1]
        started = agent.start()
        while len(stored(hub, "b")) <= before:
            assert time.monotonic() - started < FIRST_SAMPLE_S, agent.log.read_text()
            time.sleep(0.1)
        agent.wait_collected(agent.collected() + 3)
        agent.stop()
        # Every value collected is either stored or in the dead-letter file, none twice.
        assert sorted(stored(hub, "b") + dead_values(dead_letters(agent))) == [
            float(n) for n in range(1, agent.collected() + 1)
        ]
    finally:
        agent.stop()
        hub.stop()


def test_agent_pointed_at_another_hub(tmp_path: Path) -> None:
    old_url = f"http://127.0.0.1:{free_port()}"
    old = spool_while_away(tmp_path, host="b", hub=old_url, count=10)
    hub = start_hub(tmp_path / "hub")
    agent = Agent(tmp_path, "b", host="b", hub=hub.url, token=hub.token("b"))
    agent.counter.write_text(str(old.collected() + 1000))  # new values are told apart from old
    try:
        wait_first_sample(hub, "b", agent, agent.start())
        agent.wait_collected(old.collected() + 1003)
        agent.stop()
        assert min(stored(hub, "b")) > old.collected() + 1000  # none of the old hub's samples came here
    finally:
        agent.stop()
        hub.stop()
    records = dead_letters(agent)
    assert dead_values(records) == [float(n) for n in range(1, old.collected() + 1)]
    assert {r["reason"] for r in records} == {f"collected for hub {old_url}, this agent now sends to {hub.url}"}
