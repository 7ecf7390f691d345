"""A served hub (a real ``hostpulse hub`` process) alerting through a real webhook receiver."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

from tests.hub.alerts.receiver import Receiver
from tests.support.hub_process import HOSTPULSE, now_ms, start_hub


def write_config(path: Path, port: int, extra: str = "") -> Path:
    path.write_text(
        f"""
[alerts]
defaults = false

[[alerts.rules]]
name = "disk_full"
kind = "threshold"
metric = "disk.percent"
critical = 95
for = "2s"
notify = ["ops"]
{extra}

[[alerts.notifiers]]
name = "ops"
kind = "webhook"
url = "http://127.0.0.1:{port}/hook"
secret = "s3cret"
"""
    )
    return path


def disk(value: float, at: int) -> list[dict[str, object]]:
    return [{"metric": "disk.percent", "labels": {"mount": "/"}, "unit": "%",
             "ts": [at], "values": [value]}]  # fmt: skip


def wait_for(check, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_disk_crosses_95_fires_after_for_once_then_resolves(
    tmp_path: Path, receiver: Receiver
) -> None:
    config = write_config(tmp_path / "hub.toml", receiver.port)
    hub = start_hub(tmp_path / "hub", extra_args=("--config", str(config)))
    try:
        start = now_ms() - 10_000  # sample times in the past: the hub refuses future ones
        assert hub.post_batch("web1", disk(50, start)).status_code == 200
        assert hub.post_batch("web1", disk(97, start + 1_000)).status_code == 200  # pending
        time.sleep(0.5)
        assert receiver.bodies == []
        assert hub.post_batch("web1", disk(97, start + 2_000)).status_code == 200  # pending 1 s
        assert hub.post_batch("web1", disk(98, start + 3_100)).status_code == 200  # > for: fires
        wait_for(lambda: len(receiver.bodies) == 1)
        assert hub.post_batch("web1", disk(98, start + 4_000)).status_code == 200
        time.sleep(0.5)
        assert len(receiver.bodies) == 1  # firing goes on: no second message
        assert hub.post_batch("web1", disk(40, start + 5_000)).status_code == 200
        wait_for(lambda: len(receiver.bodies) == 2)
    finally:
        hub.stop()
    fired = json.loads(receiver.bodies[0][0])
    assert fired["status"] == "firing"
    (alert,) = fired["alerts"]
    assert (alert["rule"], alert["host"], alert["value"], alert["starts_at"]) == (
        "disk_full", "web1", 98, start + 3_100,
    )  # fmt: skip
    resolved = json.loads(receiver.bodies[1][0])
    assert resolved["status"] == "resolved"
    assert resolved["alerts"][0]["ends_at"] == start + 5_000


def test_a_bad_rule_stops_the_hub_with_the_key_named(tmp_path: Path) -> None:
    config = write_config(tmp_path / "hub.toml", 9, extra='over = "median"')
    out = subprocess.run(
        [HOSTPULSE, "hub", "--config", str(config), "--db", f"sqlite://{tmp_path / 'h.sqlite3'}"],
        check=False, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode != 0
    assert "alerts.rules[0].over" in out.stderr + out.stdout
    assert "median" in out.stderr + out.stdout


def stored(hub, sql: str) -> list[tuple]:
    """Read the hub's own SQLite file, as an operator would."""
    with sqlite3.connect(hub.db.removeprefix("sqlite://")) as conn:
        return conn.execute(sql).fetchall()


def fire(hub, start: int, host: str = "web1") -> None:
    """Disk at 97, 97, 98 % over 3 s: pending, then firing past the rule's for = 2s."""
    for i, value in enumerate((97, 97, 98)):
        assert hub.post_batch(host, disk(value, start + i * 1_500)).status_code == 200


def test_sigkill_while_firing_neither_forgets_nor_resends(
    tmp_path: Path, receiver: Receiver
) -> None:
    config = write_config(tmp_path / "hub.toml", receiver.port)
    start = now_ms() - 20_000
    hub = start_hub(tmp_path / "hub", extra_args=("--config", str(config)))
    try:
        fire(hub, start)
        wait_for(lambda: len(receiver.bodies) == 1)
        wait_for(lambda: stored(hub, "SELECT status FROM alert_outbox") == [("sent",)])
    finally:
        hub.stop(signal.SIGKILL)
    history = stored(
        hub, "SELECT previous, state, severity, value, at FROM alert_history ORDER BY id"
    )
    assert history == [("inactive", "pending", "critical", 97.0, start),
                       ("pending", "firing", "critical", 98.0, start + 3_000)]  # fmt: skip
    states = stored(hub, "SELECT state, labels FROM alert_states")
    assert [(state, json.loads(labels)) for state, labels in states] == [("firing", {"mount": "/"})]

    again = start_hub(tmp_path / "hub", extra_args=("--config", str(config)))
    again.tokens = hub.tokens
    try:
        assert again.post_batch("web1", disk(99, start + 5_000)).status_code == 200
        time.sleep(1.0)
        assert len(receiver.bodies) == 1  # still firing after the restart: not sent again
        assert again.post_batch("web1", disk(40, start + 6_000)).status_code == 200
        wait_for(lambda: len(receiver.bodies) == 2)
    finally:
        again.stop()
    resolved = json.loads(receiver.bodies[1][0])
    assert resolved["status"] == "resolved"
    assert resolved["alerts"][0]["starts_at"] == start + 3_000  # the firing it remembered


def test_a_message_queued_when_the_hub_is_killed_is_sent_once_after_restart(
    tmp_path: Path, receiver: Receiver
) -> None:
    receiver.down()
    config = write_config(tmp_path / "hub.toml", receiver.port)
    start = now_ms() - 20_000
    hub = start_hub(tmp_path / "hub", extra_args=("--config", str(config)))
    try:
        fire(hub, start)
        wait_for(lambda: stored(hub, "SELECT attempts > 0 FROM alert_outbox") == [(1,)])
    finally:
        hub.stop(signal.SIGKILL)
    assert stored(hub, "SELECT status FROM alert_outbox") == [("pending",)]
    receiver.up()
    again = start_hub(tmp_path / "hub", extra_args=("--config", str(config)))
    try:
        # the failed attempt set the row's next try (backoff); the new hub takes it from there
        wait_for(lambda: len(receiver.bodies) == 1, timeout=40)
        wait_for(lambda: stored(again, "SELECT status FROM alert_outbox") == [("sent",)])
        time.sleep(1.0)
    finally:
        again.stop()
    assert len(receiver.bodies) == 1
    assert json.loads(receiver.bodies[0][0])["alerts"][0]["starts_at"] == start + 3_000


def test_repeat_sends_a_firing_alert_again_until_it_resolves(
    tmp_path: Path, receiver: Receiver
) -> None:
    config = write_config(tmp_path / "hub.toml", receiver.port, extra='repeat = "1s"')
    hub = start_hub(tmp_path / "hub", extra_args=("--config", str(config)))
    try:
        start = now_ms() - 3_100  # it fires at start + 3 s, about now
        fire(hub, start)
        wait_for(lambda: len(receiver.bodies) >= 3)  # the firing, then a repeat a second
        assert hub.post_batch("web1", disk(40, now_ms())).status_code == 200
        wait_for(lambda: json.loads(receiver.bodies[-1][0])["status"] == "resolved")
        count = len(receiver.bodies)
        time.sleep(2.5)
        assert len(receiver.bodies) == count  # resolved: no more repeats
    finally:
        hub.stop()
    bodies = [json.loads(b) for b, _ in receiver.bodies]
    firing = [b for b in bodies if b["status"] == "firing"]
    assert len(firing) >= 3 and {b["alerts"][0]["starts_at"] for b in firing} == {start + 3_000}
    keys = stored(hub, "SELECT dedupe_key FROM alert_outbox WHERE dedupe_key LIKE '%repeat%'")
    assert len(keys) == len(set(keys)) >= 2  # repeat1, repeat2 …: each queued once
    # a repeat queued in the tick that raced the resolve may share its message: all were sent
    assert set(stored(hub, "SELECT status FROM alert_outbox")) == {("sent",)}
