from __future__ import annotations

import asyncio
import json
import logging
import shlex
import sys
from pathlib import Path

import psutil
import pytest
from recorded import DATA, FakeClock, by_key, collect, key

from hostpulse.agent.errors import ConfigError, PluginError
from hostpulse.plugins.exec import Exec


def python(code: str) -> str:
    """A command line running ``code`` in this interpreter (no shell involved)."""
    return shlex.join([sys.executable, "-c", code])


def printing(text: str) -> str:
    return python(f"import sys; sys.stdout.write({text!r})")


async def test_json_object_leaves_become_metrics() -> None:
    document = {"queue": {"depth": 12, "oldest_s": 3.5}, "healthy": True, "version": "1.2", "x": None}
    values = by_key(await collect(Exec(commands=[printing(json.dumps(document))])))
    assert values == {
        key("exec.queue.depth"): 12.0, key("exec.queue.oldest_s"): 3.5, key("exec.healthy"): 1.0,
    }


async def test_json_lines_in_the_agent_once_shape_keep_labels_and_units() -> None:
    lines = "\n".join(json.dumps(record) for record in [
        {"metric": "backup.age", "labels": {"job": "nightly"}, "ts": None, "value": 3600, "unit": "s"},
        {"metric": "backup.size", "labels": {"job": "nightly"}, "value": 1.5e9, "unit": "B"},
    ])
    samples = await collect(Exec(commands=[printing(lines)], prefix=""))
    assert [(s.metric, dict(s.labels), s.value, s.unit) for s in samples] == [
        ("backup.age", {"job": "nightly"}, 3600.0, "s"),
        ("backup.size", {"job": "nightly"}, 1.5e9, "B"),
    ]


async def test_name_value_lines() -> None:
    text = "# made by a cron script\nusers.active 42\n\nQueue-Depth 7.5\n"
    values = by_key(await collect(Exec(commands=[printing(text)], format="lines", prefix="app")))
    assert values == {key("app.users.active"): 42.0, key("app.queue_depth"): 7.5}


async def test_prometheus_text_counters_become_rates(clock: FakeClock, tmp_path: Path) -> None:
    page = tmp_path / "page.prom"
    page.write_text((DATA / "node_exporter_1.prom").read_text())
    source = Exec(commands=[shlex.join(["cat", str(page)])], format="prometheus")
    source.clock = clock
    first = by_key(await collect(source))
    assert first[key("exec.node_load1")] == 0.52
    page.write_text((DATA / "node_exporter_2.prom").read_text())
    clock.advance(10.0)
    second = by_key(await collect(source))
    assert second[key("exec.node_network_receive_bytes_per_s", device="eth0")] == 10_000.0


async def test_a_hanging_command_is_killed_at_the_timeout(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    hang = python(f"import os, time; open({str(pidfile)!r}, 'w').write(str(os.getpid())); time.sleep(60)")
    with pytest.raises(PluginError, match="timed out after 1 s"):
        await collect(Exec(commands=[hang], command_timeout=1.0))
    pid = int(pidfile.read_text())
    assert not psutil.pid_exists(pid)


async def test_one_failing_command_does_not_hide_the_others(caplog: pytest.LogCaptureFixture) -> None:
    failing = python("import sys; sys.stderr.write('no database'); sys.exit(3)")
    with caplog.at_level(logging.WARNING, logger="hostpulse.plugins.exec"):
        values = by_key(await collect(Exec(commands=[failing, printing('{"up": 1}')])))
    assert values == {key("exec.up"): 1.0}
    assert "exit status 3: no database" in caplog.text


async def test_unreadable_output_is_an_error() -> None:
    with pytest.raises(PluginError, match="unreadable json output"):
        await collect(Exec(commands=[printing("not json")]))
    with pytest.raises(PluginError, match="line 1: expected 'name value'"):
        await collect(Exec(commands=[printing("a b c")], format="lines"))


def test_config_errors_name_the_key() -> None:
    with pytest.raises(ConfigError, match=r"plugins\.exec\.commands = missing"):
        Exec()
    with pytest.raises(ConfigError, match=r"plugins\.exec\.format = 'xml'"):
        Exec(commands=["true"], format="xml")
    with pytest.raises(ConfigError, match=r"plugins\.exec\.prefix = 'My App'"):
        Exec(commands=["true"], prefix="My App")
    with pytest.raises(ConfigError, match=r"plugins\.exec\.commands = \"it's\""):
        Exec(commands=["it's"])
    assert Exec.default_enabled is False


async def test_a_cancelled_round_leaves_no_child_behind(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    hang = python(f"import os, time; open({str(pidfile)!r}, 'w').write(str(os.getpid())); time.sleep(60)")
    task = asyncio.create_task(collect(Exec(commands=[hang], command_timeout=30.0)))
    while not pidfile.exists() or not pidfile.read_text():
        await asyncio.sleep(0.05)
    task.cancel()  # what the scheduler does when a source overruns its timeout
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not psutil.pid_exists(int(pidfile.read_text()))


async def test_commands_do_not_see_the_agent_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOSTPULSE_TOKEN", "hp_secret")
    monkeypatch.setenv("SITE", "paris")
    show = python(
        "import json, os; print(json.dumps({'metric': 'env', 'value': 1,"
        " 'labels': {'token': os.environ.get('HOSTPULSE_TOKEN', ''), 'site': os.environ['SITE']}}))"
    )
    (sample,) = await collect(Exec(commands=[show]))
    assert sample.labels == {"token": "", "site": "paris"}
