from __future__ import annotations

from hostpulse.agent.collect.selfmetrics import AgentSource
from hostpulse.agent.stats import Stats


def test_the_agent_source_reports_every_counter_as_a_series():
    stats = Stats()
    stats.collect_seconds["cpu"] = 0.004
    stats.collect_cpu_seconds["cpu"] = 1.5
    stats.samples["cpu"] = 12
    stats.error("cpu", "timeout", "slow")
    stats.error("cpu", "timeout", "slow")
    stats.error("dice", "invalid_sample", "bad", count=3)
    stats.drop("spool_full", 40)
    stats.batches_sent, stats.samples_sent, stats.spool_bytes = 2, 24, 1000
    source = AgentSource()
    source.stats = stats
    got = {(s.metric, tuple(sorted(s.labels.items()))): (s.value, s.unit) for s in source.collect()}
    assert got[("agent.collect_seconds", (("source", "cpu"),))] == (0.004, "s")
    assert got[("agent.collect_cpu_seconds", (("source", "cpu"),))] == (1.5, "s")
    assert got[("agent.samples", (("source", "cpu"),))][0] == 12
    assert got[("agent.errors", (("kind", "timeout"), ("source", "cpu")))][0] == 2
    assert got[("agent.errors", (("kind", "invalid_sample"), ("source", "dice")))][0] == 3
    assert got[("agent.dropped", (("reason", "spool_full"),))][0] == 40
    assert got[("agent.batches_sent", ())][0] == 2 and got[("agent.samples_sent", ())][0] == 24
    assert got[("agent.spool_bytes", ())] == (1000, "B")
    assert got[("agent.rss", ())][0] > 0 and got[("agent.cpu_seconds", ())][0] > 0


def test_errors_are_logged_once_a_minute_but_all_counted(caplog):
    stats = Stats(plugins={"cpu": "cpu"})
    for _ in range(5):
        stats.error("cpu", "exception", "collect() raised %s", "OSError")
    assert stats.errors[("cpu", "exception")] == 5
    assert caplog.text.count("source cpu (plugin cpu): collect() raised OSError") == 1
