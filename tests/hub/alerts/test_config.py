from __future__ import annotations

import pytest

from hostpulse.hub.alerts.config import parse_alerts, parse_duration_ms
from hostpulse.hub.errors import SettingsError
from hostpulse.hub.settings import Settings

HOOK = {"name": "ops", "kind": "webhook", "url": "http://127.0.0.1:9000/hook", "secret": "s3cret"}


def test_contract_example_parses(tmp_path):
    config = tmp_path / "hub.toml"
    config.write_text(
        """
[hub]
bind = "127.0.0.1:8080"

[[alerts.rules]]
name = "hot"
kind = "threshold"
metric = "room.temp"
labels = { room = "lab" }
over = "last"
warning = 30
critical = 50
for = "0s"
notify = ["ops"]

[[alerts.notifiers]]
name = "ops"
kind = "webhook"
url = "http://127.0.0.1:9000/hook"
secret = "s3cret"
"""
    )
    # read the way the hub reads it: Settings.load takes [alerts] from --config
    alerts = parse_alerts(Settings.load(config_file=config, env={}).alerts)
    hot = next(r for r in alerts.rules if r.name == "hot")
    assert (hot.warning, hot.critical, hot.for_ms, hot.notify) == (30, 50, 0, ("ops",))
    assert hot.selects("h1", "room.temp", {"room": "lab"})
    assert not hot.selects("h1", "room.temp", {"room": "hall"})
    assert not hot.selects("h1", "room.temperature", {"room": "lab"})
    assert "s3cret" not in repr(alerts.notifiers["ops"])


def test_defaults_match_the_dashboard_and_can_be_replaced_or_dropped():
    rules = {r.name: r for r in parse_alerts({}).rules}
    assert set(rules) == {"host_down", "disk_full", "memory_high", "cpu_high"}
    assert (rules["disk_full"].warning, rules["disk_full"].critical) == (85, 95)
    assert (rules["memory_high"].warning, rules["memory_high"].critical) == (90, 95)
    assert rules["memory_high"].for_ms == 300_000
    assert (rules["cpu_high"].critical, rules["cpu_high"].for_ms) == (90, 600_000)
    mine = parse_alerts(
        {"rules": [{"name": "disk_full", "kind": "threshold", "metric": "disk.*", "critical": 99}]}
    )
    assert [r.critical for r in mine.rules if r.name == "disk_full"] == [99]
    assert parse_alerts({"defaults": False}).rules == ()


@pytest.mark.parametrize(
    ("rule", "key", "fragment"),
    [
        ({"kind": "thresold", "critical": 1}, "alerts.rules[0].kind", "threshold | anomaly"),
        (
            {"kind": "threshold", "critical": 1, "for": "5 minutes"},
            "alerts.rules[0].for",
            "duration",
        ),
        (
            {"kind": "threshold", "critical": 1, "metric": "~disk.(["},
            "alerts.rules[0].metric",
            "regular",
        ),
        (
            {"kind": "threshold", "critical": 1, "notify": ["pager"]},
            "alerts.rules[0].notify",
            "ops",
        ),
        ({"kind": "threshold"}, "alerts.rules[0].critical", "warning and/or critical"),
        ({"kind": "threshold", "critical": 1, "over": "avg"}, "alerts.rules[0].window", "> 0"),
        ({"kind": "threshold", "warning": 9, "critical": 1}, "alerts.rules[0].warning", "critical"),
        ({"kind": "threshold", "critical": 9, "clear": 10}, "alerts.rules[0].clear", "lowest"),
        ({"kind": "threshold", "critical": 1, "treshold": 2}, "alerts.rules[0].treshold", "one of"),
        ({"kind": "threshold", "critical": "high"}, "alerts.rules[0].critical", "a number"),
    ],
)
def test_bad_rules_name_the_key(rule, key, fragment):
    with pytest.raises(SettingsError) as caught:
        parse_alerts({"rules": [{"name": "r", **rule}], "notifiers": [HOOK]})
    assert caught.value.key == key
    assert fragment in caught.value.expected


def test_bad_notifiers_and_duplicates_name_the_key():
    with pytest.raises(SettingsError) as caught:
        parse_alerts({"notifiers": [{**HOOK, "url": "ftp://x"}]})
    assert caught.value.key == "alerts.notifiers[0].url"
    with pytest.raises(SettingsError) as caught:
        parse_alerts({"notifiers": [{**HOOK, "kind": "pager"}]})
    assert caught.value.key == "alerts.notifiers[0].kind"
    with pytest.raises(SettingsError) as caught:
        parse_alerts({"rules": [{"name": "a", "kind": "host_down"}] * 2})
    assert caught.value.key == "alerts.rules[1].name"


def test_durations():
    assert parse_duration_ms("k", "90s") == 90_000
    assert parse_duration_ms("k", "5m") == 300_000
    assert parse_duration_ms("k", "250ms") == 250
    assert parse_duration_ms("k", 2) == 2_000
    with pytest.raises(SettingsError):
        parse_duration_ms("k", "-1s")
