"""``hostpulse alerts …`` as users run it: a real CLI subprocess against a served hub's database."""

from __future__ import annotations

import json
from pathlib import Path

from tests.hub.alerts.receiver import Receiver
from tests.hub.alerts.test_served_hub import fire, stored, wait_for, write_config
from tests.support.hub_process import now_ms, run_cli, start_hub


def test_list_and_silence_through_the_cli(tmp_path: Path, receiver: Receiver) -> None:
    config = write_config(tmp_path / "hub.toml", receiver.port)
    hub = start_hub(tmp_path / "hub", extra_args=("--config", str(config)))
    try:
        made = run_cli("alerts", "silence", "add", "--db", hub.db, "--host", "web2",
                       "--label", "mount=/", "--for", "1h", "--comment", "disk swap")  # fmt: skip
        silence_id = int(made.stdout.strip())
        assert (
            f"#{silence_id} rule=* host=web2 labels={{'mount': '/'}}"
            in run_cli("alerts", "silence", "list", "--db", hub.db).stdout
        )
        start = now_ms() - 20_000
        fire(hub, start, host="web1")
        fire(hub, start, host="web2")
        wait_for(lambda: sorted(stored(hub, "SELECT status FROM alert_outbox"))
                 == [("sent",), ("silenced",)])  # fmt: skip
        listed = [json.loads(line) for line in
                  run_cli("alerts", "list", "--db", hub.db, "--json").stdout.splitlines()]  # fmt: skip
        assert [(a["host"], a["state"], a["silenced_by"]) for a in listed] == [
            ("web1", "firing", None), ("web2", "firing", silence_id),
        ]  # fmt: skip
        assert (
            "ended" in run_cli("alerts", "silence", "end", str(silence_id), "--db", hub.db).stdout
        )
        again = run_cli("alerts", "silence", "end", str(silence_id), "--db", hub.db, check=False)
        assert again.returncode == 1 and "no silence in force" in again.stderr
    finally:
        hub.stop()
    assert len(receiver.bodies) == 1


def test_silence_refuses_bad_input_naming_it(tmp_path: Path) -> None:
    db = f"sqlite://{tmp_path / 'hub.sqlite3'}"
    bad = run_cli(
        "alerts", "silence", "add", "--db", db, "--host", "x", "--for", "soon", check=False
    )
    assert bad.returncode == 2 and "--for" in bad.stderr
    bad = run_cli("alerts", "silence", "add", "--db", db, "--for", "1h", check=False)
    assert bad.returncode == 2 and "would mute everything" in bad.stderr
    bad = run_cli(
        "alerts", "silence", "add", "--db", db, "--label", "oops", "--for", "1h", check=False
    )
    assert bad.returncode == 2 and "KEY=VALUE" in bad.stderr


def test_alerts_test_sends_a_sample_and_prints_the_answer(
    tmp_path: Path, receiver: Receiver
) -> None:
    config = write_config(tmp_path / "hub.toml", receiver.port)
    out = run_cli("alerts", "test", "ops", "--config", str(config))
    assert out.stdout.strip() == "204 No Content"
    ((body, headers),) = receiver.bodies
    assert json.loads(body)["alerts"][0]["rule"] == "hostpulse_test"
    assert headers["X-HostPulse-Signature"].startswith("sha256=")
    receiver.down()
    failed = run_cli("alerts", "test", "ops", "--config", str(config), check=False)
    assert failed.returncode == 1 and "ConnectError" in failed.stderr
    unknown = run_cli("alerts", "test", "nope", "--config", str(config), check=False)
    assert unknown.returncode == 2 and "no notifier 'nope'" in unknown.stderr


def test_ack_through_the_cli(tmp_path: Path, receiver: Receiver) -> None:
    config = write_config(tmp_path / "hub.toml", receiver.port)
    hub = start_hub(tmp_path / "hub", extra_args=("--config", str(config)))
    try:
        none = run_cli("alerts", "ack", "add", "disk_full", "web1", "--db", hub.db, check=False)
        assert none.returncode == 1 and "no firing alert of rule 'disk_full'" in none.stderr
        fire(hub, now_ms() - 20_000)
        wait_for(lambda: stored(hub, "SELECT state FROM alert_states") == [("firing",)])
        bad = run_cli("alerts", "ack", "add", "disk_full", "web1", "--for", "soon",
                      "--db", hub.db, check=False)  # fmt: skip
        assert bad.returncode == 2 and "--for" in bad.stderr
        made = run_cli("alerts", "ack", "add", "disk_full", "web1", "--for", "2h",
                       "--comment", "swapping the disk", "--db", hub.db)  # fmt: skip
        ack_id = int(made.stdout.strip())
        listed = run_cli("alerts", "ack", "list", "--db", hub.db).stdout
        assert f"#{ack_id} rule=disk_full host=web1" in listed and "swapping the disk" in listed
        (alert,) = [json.loads(line) for line in
                    run_cli("alerts", "list", "--db", hub.db, "--json").stdout.splitlines()]  # fmt: skip
        assert alert["acked_by"] == ack_id
        assert f"acknowledged #{ack_id}" in run_cli("alerts", "list", "--db", hub.db).stdout
        assert "ended" in run_cli("alerts", "ack", "end", str(ack_id), "--db", hub.db).stdout
        again = run_cli("alerts", "ack", "end", str(ack_id), "--db", hub.db, check=False)
        assert again.returncode == 1 and "no ack in force" in again.stderr
    finally:
        hub.stop()
