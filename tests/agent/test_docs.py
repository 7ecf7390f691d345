"""The docs tell the truth: the first-plugin example works as printed, every hook is documented."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from hostpulse.agent import hookspecs
from tests.agent.conftest import ROOT, run

PLUGINS_MD = ROOT / "docs" / "plugins.md"


def files_in(markdown: Path) -> dict[str, str]:
    """The code blocks preceded by ``<!-- file: NAME -->``, by NAME."""
    pattern = re.compile(r"<!-- file: (\S+) -->\n```\w*\n(.*?)\n```", re.DOTALL)
    return {name: code + "\n" for name, code in pattern.findall(markdown.read_text())}


@pytest.fixture
def measured(tmp_path: Path) -> tuple[Path, Path]:
    """A directory with 10 + 20 bytes of files, and a config pointing the example at it."""
    directory = tmp_path / "measured"
    directory.mkdir()
    (directory / "a").write_bytes(b"x" * 10)
    (directory / "b").write_bytes(b"y" * 20)
    (directory / "sub").mkdir()
    config = tmp_path / "agent.toml"
    config.write_text(f'[plugins.dirsize]\npath = "{directory}"\n')
    return directory, config


def check_output(stdout: str, directory: Path) -> None:
    lines = [json.loads(line) for line in stdout.splitlines()]
    assert [(x["metric"], x["labels"], x["value"], x["unit"]) for x in lines] == [
        ("dirsize.bytes", {"path": str(directory)}, 30.0, "B")
    ]


def test_the_first_plugin_is_about_fifteen_lines():
    code = files_in(PLUGINS_MD)["hostpulse_dirsize.py"]
    assert len([line for line in code.splitlines() if line.strip()]) <= 16


def test_the_first_plugin_runs_from_a_plugin_directory(tmp_path, measured):
    directory, config = measured
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "hostpulse_dirsize.py").write_text(files_in(PLUGINS_MD)["hostpulse_dirsize.py"])
    done = run("agent", "--once", "--plugin-dir", str(plugins), "--source", "dirsize", "--config", str(config))
    assert done.returncode == 0, done.stderr
    check_output(done.stdout, directory)


def test_the_first_plugin_installs_as_a_package_and_runs(tmp_path, measured):
    directory, config = measured
    package = tmp_path / "package"
    package.mkdir()
    for name, code in files_in(PLUGINS_MD).items():
        (package / name).write_text(code)
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), str(package)],
        check=True, capture_output=True,
    )
    env = {"PYTHONPATH": os.pathsep.join([str(site), str(ROOT)]), "HOSTPULSE_PLUGINS": "dirsize"}
    listed = run("plugins", env=env)
    assert "dirsize  (entry point: dirsize = hostpulse_dirsize (hostpulse-dirsize 0.1.0))" in listed.stdout
    done = run("agent", "--once", "--source", "dirsize", "--config", str(config), env=env)
    assert done.returncode == 0, done.stderr
    check_output(done.stdout, directory)


def test_every_hook_is_documented():
    text = PLUGINS_MD.read_text()
    hooks = [name for name in dir(hookspecs) if hasattr(getattr(hookspecs, name), "hostpulse_spec")]
    assert "register_sources" in hooks  # the lookup works; every hook found must be documented
    for hook in hooks:
        assert f"### `{hook}()`" in text


AGENT_MD = ROOT / "docs" / "agent.md"


def test_every_setting_is_documented_with_its_default():
    from dataclasses import MISSING, fields

    from hostpulse.agent.config import CHECKS, AgentConfig

    text = AGENT_MD.read_text()
    for key in CHECKS:
        row = re.search(rf"^\| `{key}` \| (.*?) \|", text, re.MULTILINE)
        assert row, f"{key} is not in the settings table of docs/agent.md"
        default = next(f.default for f in fields(AgentConfig) if f.name == key)
        if default not in (MISSING, None):
            assert f"`{default}`" in row.group(1), f"{key}: the documented default is not {default}"


def test_every_self_metric_is_documented():
    from hostpulse.agent.collect.selfmetrics import AgentSource
    from hostpulse.agent.stats import Stats

    stats = Stats()
    stats.collect_seconds["x"] = 1.0
    stats.collect_cpu_seconds["x"] = 1.0
    stats.samples["x"] = 1
    stats.errors[("x", "exception")] = 1
    stats.drop("spool_full", 1)
    source = AgentSource()
    source.stats = stats
    text = AGENT_MD.read_text()
    for metric in {sample.metric for sample in source.collect()}:
        assert f"| `{metric}` |" in text, f"{metric} is not documented in docs/agent.md"


UNIT = ROOT / "deploy" / "hostpulse-agent.service"


def test_the_systemd_unit_sets_only_known_settings_and_runs_the_agent(tmp_path, plugin_dir):
    from hostpulse.agent.config import CHECKS

    text = UNIT.read_text()
    for key in re.findall(r"^Environment=HOSTPULSE_(\w+)=", text, re.MULTILINE):
        assert key.lower() in CHECKS, f"the unit sets HOSTPULSE_{key}, which the agent does not know"
    (exec_start,) = re.findall(r"^ExecStart=\S+ (.*)$", text, re.MULTILINE)
    args = exec_start.split()
    assert args[:2] == ["agent", "--config"]
    config = tmp_path / "agent.toml"
    assert run("agent", "init", str(config), "--plugin-dir", str(plugin_dir)).returncode == 0
    done = run(*args[:2], str(config), "--once")  # the unit's command line, with a real config
    assert done.returncode == 0 and "test.counter" in done.stdout, done.stderr


@pytest.mark.skipif(not Path("/usr/bin/systemd-analyze").exists(), reason="needs systemd-analyze")
def test_systemd_accepts_the_unit(tmp_path):
    unit = tmp_path / "hostpulse-agent.service"
    unit.write_text(re.sub(r"^ExecStart=\S+", f"ExecStart={sys.executable}", UNIT.read_text(), flags=re.MULTILINE))
    done = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0 and "hostpulse-agent.service" not in done.stderr, done.stderr


def test_the_first_plugin_installed_sends_its_samples_to_a_real_hub(tmp_path, measured):
    import signal
    import time

    from tests.agent.conftest import hostpulse
    from tests.support.hub_process import start_hub

    directory, config = measured
    package, site = tmp_path / "package", tmp_path / "site"
    package.mkdir()
    for name, code in files_in(PLUGINS_MD).items():
        (package / name).write_text(code)
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), str(package)],
        check=True, capture_output=True,
    )
    config.write_text(config.read_text() + "interval = 0.5\n")
    hub = start_hub(tmp_path / "hub")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)]),
           "HOSTPULSE_PLUGINS": "dirsize", "HOSTPULSE_TOKEN": hub.token("docs-host"),
           "HOSTPULSE_BATCH_MAX_AGE": "0.5"}
    agent = subprocess.Popen(
        hostpulse("agent", "--hub", hub.url, "--host", "docs-host", "--config", str(config),
                  "--state-dir", str(tmp_path / "state")),
        env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not (series := hub.get("/api/v1/series", host="docs-host", metric="dirsize.bytes").json()["series"]):
            assert time.monotonic() < deadline and agent.poll() is None, "no dirsize series reached the hub"
            time.sleep(0.2)
        (only,) = series
        assert (only["labels"], only["unit"]) == ({"path": str(directory)}, "B")
        points = hub.get(f"/api/v1/series/{only['id']}/points").json()["points"]
        assert points and all(point[1] == 30.0 for point in points)
    finally:
        agent.send_signal(signal.SIGTERM)
        agent.communicate(timeout=30)
        hub.stop()
    assert agent.returncode == 0
