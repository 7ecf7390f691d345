"""The agent's command line, run for real in subprocesses."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.agent.conftest import ROOT, hostpulse, run, write_plugin
from tests.agent.sink import Sink

MARKED = """
    import itertools, os
    from hostpulse import Sample, Source, hookimpl

    class Marked(Source):
        '''Counts 1, 2, 3 ... and writes the last count to a file, so a test knows what was collected.'''
        name = "marked"
        interval = 0.2

        def __init__(self, **config):
            super().__init__(**config)
            self.count = itertools.count(1)

        def collect(self):
            n = next(self.count)
            with open(os.environ["MARK_FILE"], "w") as f:
                f.write(str(n))
            return [Sample("test.marked", n)]

    @hookimpl
    def register_sources():
        return [Marked]
"""


def lines(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines()]


def test_once_prints_one_round_as_json_lines(plugin_dir):
    done = run("agent", "--once", "--plugin-dir", str(plugin_dir))
    assert done.returncode == 0, done.stderr
    (line,) = lines(done.stdout)
    assert set(line) == {"metric", "labels", "ts", "value", "unit"}
    assert (line["metric"], line["labels"], line["value"], line["unit"]) == ("test.counter", {"k": "v"}, 1.0, "n")
    assert abs(line["ts"] - time.time() * 1000) < 600_000


def test_once_with_a_config_and_one_source_even_disabled(plugin_dir, tmp_path):
    write_plugin(plugin_dir, "other", """
        from hostpulse import Sample, Source, hookimpl
        class Other(Source):
            name = "other"
            def collect(self):
                return [Sample("other.x", 1)]
        @hookimpl
        def register_sources():
            return [Other]
    """)
    config = tmp_path / "agent.toml"
    config.write_text(f'[agent]\nplugin_dirs = ["{plugin_dir}"]\n[plugins.counter]\nenabled = false\nstep = 5\n')
    everything = run("agent", "--once", "--config", str(config))
    assert [line["metric"] for line in lines(everything.stdout)] == ["other.x"]
    one = run("agent", "--once", "--config", str(config), "--source", "counter")
    assert [(line["metric"], line["value"]) for line in lines(one.stdout)] == [("test.counter", 5.0)]


def test_once_fails_loudly_for_a_bad_source_and_names_it(plugin_dir):
    write_plugin(plugin_dir, "oops", """
        from hostpulse import Sample, Source, hookimpl
        class Oops(Source):
            name = "oops"
            def collect(self):
                raise OSError("sensor unplugged")
        @hookimpl
        def register_sources():
            return [Oops]
    """)
    done = run("agent", "--once", "--plugin-dir", str(plugin_dir))
    assert done.returncode == 1
    assert [line["metric"] for line in lines(done.stdout)] == ["test.counter"]
    assert "source oops (plugin oops): collect() raised OSError: sensor unplugged" in done.stderr


@pytest.mark.parametrize(
    ("args", "config", "message"),
    [
        (["--source", "nope"], "", "--source = 'nope': expected the name of a discovered source (agent, counter)"),
        ([], '[plugins.counter]\nstep = "two"\n', "plugins.counter.step = 'two': expected a int"),
        ([], "[agent]\nbatch_max_samples = 0\n", "agent.batch_max_samples = 0: expected a positive integer"),
    ],
)
def test_config_errors_exit_2_with_the_key(plugin_dir, tmp_path, args, config, message):
    path = tmp_path / "agent.toml"
    path.write_text(config)
    done = run("agent", "--once", "--plugin-dir", str(plugin_dir), "--config", str(path), *args)
    assert done.returncode == 2 and message in done.stderr, done.stderr


def test_running_without_a_hub_or_token_says_what_is_missing(plugin_dir):
    done = run("agent", "--plugin-dir", str(plugin_dir))
    assert done.returncode == 2 and "hub = missing: expected a URL" in done.stderr
    done = run("agent", "--plugin-dir", str(plugin_dir), "--hub", "http://127.0.0.1:9")
    assert done.returncode == 2 and "token = missing: expected a token" in done.stderr


def test_plugins_lists_origins_sources_and_options(plugin_dir):
    done = run("plugins", "--plugin-dir", str(plugin_dir), env={"HOSTPULSE_PLUGINS": "memory"})
    assert done.returncode == 0, done.stderr
    assert f"counter  (directory: {plugin_dir / 'counter.py'})" in done.stdout
    assert "step (int, default 1)  added each tick" in done.stdout
    assert "memory  (entry point: memory = hostpulse.plugins.memory (hostpulse " in done.stdout
    listed = json.loads(run("plugins", "--json", "--plugin-dir", str(plugin_dir)).stdout)
    counter = next(p for p in listed if p["name"] == "counter")
    assert counter["sources"][0]["options"] == [
        {"name": "step", "type": "int", "required": False, "default": 1, "help": "added each tick"}
    ]


def test_plugins_new_scaffolds_a_package_that_installs_and_runs(tmp_path):
    done = run("plugins", "new", "room_temp", "--dir", str(tmp_path))
    assert done.returncode == 0, done.stderr
    package = tmp_path / "hostpulse-room-temp"
    assert {p.name for p in package.iterdir()} >= {"pyproject.toml", "hostpulse_room_temp.py", "tests", "README.md"}
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps",
         "--target", str(target), str(package)],
        check=True, capture_output=True,
    )
    env = {"PYTHONPATH": os.pathsep.join([str(target), str(ROOT)]), "HOSTPULSE_PLUGINS": "room_temp"}
    listed = run("plugins", env=env)
    assert "room_temp  (entry point: room_temp = hostpulse_room_temp (hostpulse-room-temp 0.1.0))" in listed.stdout
    once = run("agent", "--once", "--source", "room_temp", env=env)
    assert once.returncode == 0, once.stderr
    assert [line["metric"] for line in lines(once.stdout)] == ["room_temp.entries"]
    # The scaffold's own tests pass as generated.
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(package / "tests")],
        capture_output=True, text=True, env={**os.environ, **env}, cwd=tmp_path, check=False,
    )
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert run("plugins", "new", "Bad-Name", "--dir", str(tmp_path)).returncode == 2


def start_agent(sink: Sink, plugin_dir: Path, tmp_path: Path, config: str = "") -> subprocess.Popen[str]:
    path = tmp_path / "agent.toml"
    path.write_text(config)
    env = {
        **os.environ, "HOSTPULSE_TOKEN": sink.token, "MARK_FILE": str(tmp_path / "mark"),
        "HOSTPULSE_STATE_DIR": str(tmp_path / "state"),
    }
    return subprocess.Popen(
        hostpulse("agent", "--hub", sink.url, "--host", "test-host", "--config", str(path),
                  "--plugin-dir", str(plugin_dir), "--log-level", "debug"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT,
    )


def marked(sink: Sink) -> list[float]:
    return [value for metric, _, _, value in sink.samples() if metric == "test.marked"]


def test_the_agent_sends_to_the_hub_and_sigterm_flushes_memory(sink: Sink, tmp_path):
    write_plugin(tmp_path / "p", "marked", MARKED)
    # Batches old enough to send only after a minute: whatever arrives was flushed by SIGTERM.
    agent = start_agent(sink, tmp_path / "p", tmp_path, "[agent]\nbatch_max_age = 60\n")
    try:
        mark = tmp_path / "mark"
        deadline = time.monotonic() + 30
        while not (mark.exists() and mark.read_text() and int(mark.read_text()) >= 3):
            assert time.monotonic() < deadline and agent.poll() is None, agent.stderr
            time.sleep(0.05)
        assert sink.requests == []
        agent.send_signal(signal.SIGTERM)
        _, stderr = agent.communicate(timeout=30)
    finally:
        agent.kill()
    assert agent.returncode == 0, stderr
    collected = int((tmp_path / "mark").read_text())
    assert marked(sink) == [float(n) for n in range(1, collected + 1)]
    payload = sink.requests[0].payload
    assert payload["host"] == "test-host" and sink.requests[0].headers["Content-Encoding"] == "gzip"
    assert sink.token not in stderr  # debug logging on, token still masked


def test_the_agent_reports_on_itself(sink: Sink, tmp_path, plugin_dir):
    agent = start_agent(sink, plugin_dir, tmp_path, "[agent]\nbatch_max_age = 0.2\n[plugins.agent]\ninterval = 0.2\n")
    try:
        assert sink.wait_for(lambda s: any(m == "agent.samples" for m, *_ in s.samples()))
    finally:
        agent.send_signal(signal.SIGTERM)
        agent.communicate(timeout=30)
    metrics = {(m, tuple(sorted(labels.items()))) for m, labels, _, _ in sink.samples()}
    assert ("agent.samples", (("source", "counter"),)) in metrics
    assert ("agent.collect_seconds", (("source", "counter"),)) in metrics
    assert ("agent.spool_bytes", ()) in metrics


def test_an_agent_with_every_source_disabled_idles_until_sigterm(sink: Sink, tmp_path, plugin_dir):
    agent = start_agent(sink, plugin_dir, tmp_path,
                        "[plugins.counter]\nenabled = false\n[plugins.agent]\nenabled = false\n")
    try:
        time.sleep(1)  # not a timing assertion: gives a broken agent the chance to exit by itself
        assert agent.poll() is None
    finally:
        agent.send_signal(signal.SIGTERM)
        _, stderr = agent.communicate(timeout=30)
    assert agent.returncode == 0 and "no source is enabled" in stderr, stderr
