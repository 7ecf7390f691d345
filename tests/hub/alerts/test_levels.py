"""GET /api/v1/alerts/levels on a served hub: each series' warning/critical levels, matched by the
hub's own rules (globs, ``~regex``, labels, host labels), the dashboard's threshold lines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.hub.alerts.test_served_hub import wait_for
from tests.support.hub_process import LiveHub, now_ms, run_cli, start_hub

CONFIG = r"""
[alerts]
defaults = false

[[alerts.rules]]
name = "lab_temp"               # host labels: only hosts labelled site=lab
kind = "threshold"
metric = "room.temp"
host_labels = { site = "lab" }
warning = 30

[[alerts.rules]]
name = "root_disk"              # labels and a host glob, before the broader rule below
kind = "threshold"
metric = "disk.percent"
labels = { mount = "/" }
host = "db*"
warning = 70
critical = 80

[[alerts.rules]]
name = "disks"                  # a metric glob
kind = "threshold"
metric = "disk.*"
warning = 85
critical = 95

[[alerts.rules]]
name = "cpu"                    # a regex with Python's named group, which JavaScript refuses
kind = "threshold"
metric = '~cpu\.(?P<what>percent|busy)'
critical = 90

[[alerts.rules]]
name = "odd"                    # not a threshold: no levels, whatever it selects
kind = "anomaly"
metric = "*"
"""


def point(metric: str, value: float, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"metric": metric, "labels": labels or {}, "unit": "%",
            "ts": [now_ms() - 1000], "values": [value]}  # fmt: skip


def levels(hub: LiveHub, **params: str) -> dict[tuple[str, str, str], tuple[str, Any, Any]]:
    answer = hub.get("/api/v1/alerts/levels", **params)
    assert answer.status_code == 200, answer.text
    return {
        (e["host"], e["metric"], ",".join(f"{k}={v}" for k, v in sorted(e["labels"].items()))):
        (e["rule"], e["warning"], e["critical"])
        for e in answer.json()["levels"]
    }  # fmt: skip


def test_each_series_gets_the_levels_of_the_first_threshold_rule_selecting_it(
    tmp_path: Path,
) -> None:
    config = tmp_path / "hub.toml"
    config.write_text(CONFIG)
    hub = start_hub(tmp_path / "hub", extra_args=("--config", str(config)))
    try:
        # db1 is labelled site=lab, as an admin adds a host; web1 has no labels.
        added = run_cli("host", "add", "db1", "--label", "site=lab", "--db", hub.db)
        hub.tokens["db1"] = added.stdout.strip().split("--token ")[-1]
        for host in ("db1", "web1"):
            answer = hub.post_batch(host, [
                point("disk.percent", 50, {"mount": "/"}),
                point("disk.percent", 50, {"mount": "/data"}),
                point("diskio.busy", 5),
                point("cpu.percent", 10, {"cpu": "total"}),
                point("cpu.busy", 10),
                point("cpu.percentile", 10),
                point("room.temp", 20),
                point("mem.used", 1),
            ])  # fmt: skip
            assert answer.status_code == 200, answer.text

        # Left out: diskio.busy ("disk.*" wants the dot), cpu.percentile (the regex is anchored
        # at both ends), web1's room.temp (no site=lab), mem.used (no threshold rule).
        assert levels(hub) == {
            ("db1", "cpu.busy", ""): ("cpu", None, 90),
            ("db1", "cpu.percent", "cpu=total"): ("cpu", None, 90),
            ("db1", "disk.percent", "mount=/"): ("root_disk", 70, 80),
            ("db1", "disk.percent", "mount=/data"): ("disks", 85, 95),
            ("db1", "room.temp", ""): ("lab_temp", 30, None),
            ("web1", "cpu.busy", ""): ("cpu", None, 90),
            ("web1", "cpu.percent", "cpu=total"): ("cpu", None, 90),
            ("web1", "disk.percent", "mount=/"): ("disks", 85, 95),
            ("web1", "disk.percent", "mount=/data"): ("disks", 85, 95),
        }
        # Narrowed like /series; each entry names its series as /series does.
        assert set(levels(hub, host="web1", metric="disk.percent")) == {
            ("web1", "disk.percent", "mount=/"), ("web1", "disk.percent", "mount=/data"),
        }  # fmt: skip
        ids = {s["id"] for s in hub.get("/api/v1/series", host="db1").json()["series"]}
        entries = hub.get("/api/v1/alerts/levels", host="db1").json()["levels"]
        assert {e["series_id"] for e in entries} <= ids and len(entries) == 5
        assert levels(hub, host="nobody") == {}
    finally:
        hub.stop()


def test_rules_with_host_labels_alert_only_on_those_hosts(tmp_path: Path) -> None:
    # The evaluator selects by the same matcher: a hot room on web1 (no site=lab) is no alert.
    config = tmp_path / "hub.toml"
    config.write_text(CONFIG)
    (tmp_path / "hub").mkdir()
    db = f"sqlite://{tmp_path / 'hub' / 'hub.sqlite3'}"
    added = run_cli("host", "add", "db1", "--label", "site=lab", "--db", db)
    hub = start_hub(tmp_path / "hub", db=db, extra_args=("--config", str(config)))
    hub.tokens["db1"] = added.stdout.strip().split("--token ")[-1]
    try:
        # web1 first: its transition, were there one, would be stored no later than db1's.
        for host in ("web1", "db1"):
            assert hub.post_batch(host, [point("room.temp", 35)]).status_code == 200

        def firing() -> list[tuple[str, str]]:
            alerts = hub.get("/api/v1/alerts").json()["alerts"]
            return [(a["rule"], a["host"]) for a in alerts if a["state"] == "firing"]

        wait_for(lambda: firing() != [])
        assert firing() == [("lab_temp", "db1")]
    finally:
        hub.stop()
