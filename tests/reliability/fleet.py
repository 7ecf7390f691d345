"""Real ``hostpulse agent`` processes for the fault scenarios, built on tests/agent's helpers.

Each agent runs a ``sequence`` source that counts 1, 2, 3 … across restarts (through a file) and
emits the count on ``test.sequence`` and on ``BALLAST`` more series, so the hub is under load and
every series of every host must end up holding exactly 1..N: a gap is a lost batch, a repeat a
duplicate.
"""

from __future__ import annotations

import time
from pathlib import Path

from tests.agent.conftest import write_plugin
from tests.agent.test_runner import Agent
from tests.support.hub_process import LiveHub

BALLAST = 20

LOADED_SEQUENCE = f"""
    import os
    from hostpulse import Sample, Source, hookimpl

    class Sequence(Source):
        '''1, 2, 3 ... continued across agent restarts through a file, on {BALLAST + 1} series.'''
        name = "sequence"
        interval = 0.2
        # The count is taken before collect() returns: a collection timed out on a busy machine
        # would leave a gap that is no fault of delivery, so allow it plenty of time.
        timeout = 5.0

        def __init__(self, **config):
            super().__init__(**config)
            self.path = os.environ["SEQUENCE_FILE"]
            self.n = int(open(self.path).read()) if os.path.exists(self.path) else 0

        def collect(self):
            self.n += 1
            with open(self.path + ".tmp", "w") as f:
                f.write(str(self.n))
            os.replace(self.path + ".tmp", self.path)
            return [Sample("test.sequence", self.n)] + [
                Sample("test.ballast", self.n, {{"i": str(i)}}) for i in range({BALLAST})
            ]

    @hookimpl
    def register_sources():
        return [Sequence]
"""


class FleetAgent(Agent):
    """tests.agent.test_runner.Agent under its own host name, with the loaded sequence source."""

    def __init__(self, hub: LiveHub, host: str, workdir: Path, **env: str) -> None:
        super().__init__(hub.url, hub.token(host), workdir)
        write_plugin(workdir / "plugins", "sequence", LOADED_SEQUENCE)
        self.args[self.args.index("outage-host")] = host
        self.host = host
        self.workdir = workdir
        self.env.update(env)

    def spool_segments(self) -> list[Path]:
        return sorted((self.workdir / "state" / "spool").glob("*.seg"))

    def kill(self) -> None:
        """SIGKILL: no flush, no goodbye; what was in memory is lost unless already spooled."""
        assert self.process is not None
        self.process.kill()
        self.process.wait()
        if self.process.stdout:
            self.process.stdout.close()
        if self.process.stderr:
            self.process.stderr.close()

    def stop_if_running(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.communicate()


def stored_values(hub: LiveHub, host: str) -> dict[tuple[str, str], list[float]]:
    """Every raw value the hub stores for each series of ``host``, sorted, keyed by metric+labels."""
    out: dict[tuple[str, str], list[float]] = {}
    for series in hub.get("/api/v1/series", host=host).json()["series"]:
        if not series["metric"].startswith("test."):
            continue
        answer = hub.get(f"/api/v1/series/{series['id']}/points", max_points=100_000).json()
        assert answer["tier"] == "raw"
        key = (series["metric"], str(sorted(series["labels"].items())))
        out[key] = sorted(point[1] for point in answer["points"])
    return out


def sequence_count(hub: LiveHub, host: str) -> int:
    series = hub.get("/api/v1/series", host=host, metric="test.sequence").json()["series"]
    if not series:
        return 0
    points = hub.get(f"/api/v1/series/{series[0]['id']}/points", max_points=100_000).json()
    return len(points["points"])


def wait_until(condition, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def wait_delivering(hub: LiveHub, agents: list[FleetAgent], more: int = 5) -> None:
    """Until the hub has stored ``more`` new collections of every agent."""
    marks = {a.host: sequence_count(hub, a.host) for a in agents}
    wait_until(lambda: all(sequence_count(hub, a.host) >= marks[a.host] + more for a in agents),
               "every agent delivering")


def assert_exactly_once(hub: LiveHub, agent: FleetAgent) -> int:
    """Every series of the agent's host holds exactly 1..N, N the agent's last count."""
    last = agent.collected()
    values = stored_values(hub, agent.host)
    assert len(values) == BALLAST + 1, sorted(values)
    expected = [float(n) for n in range(1, last + 1)]
    problems = []
    for key, got in sorted(values.items()):
        missing = sorted(set(expected) - set(got))
        repeated = len(got) - len(set(got))
        extra = sorted(set(got) - set(expected))
        if got != expected:
            problems.append(f"{agent.host} {key}: {len(missing)} missing (first {missing[:5]}), "
                            f"{repeated} duplicated, {len(extra)} unexpected (first {extra[:5]})")
    assert not problems, "\n".join(problems)
    return last


def assert_replayed_exactly_once(hub: LiveHub, agents: list[FleetAgent]) -> None:
    """After an outage: every spool drains, delivery resumes, the agents stop (SIGTERM flushes),
    and every series of every agent holds exactly 1..N."""
    for agent in agents:
        wait_until(lambda a=agent: not a.spool_segments(), f"{agent.host} to replay", 60)
    wait_delivering(hub, agents)
    for agent in agents:
        agent.stop()
    for agent in agents:
        assert_exactly_once(hub, agent)
