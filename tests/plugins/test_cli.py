"""The built-in sources through the real ``hostpulse agent --once`` (DESIGN.md §6), in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HOSTPULSE = Path(sys.executable).with_name("hostpulse")


def once(tmp_path: Path, config: str, *args: str) -> list[dict[str, object]]:
    (tmp_path / "agent.toml").write_text(config)
    # Only built-ins: an installed third-party plugin must not leak into the test.
    env = {**os.environ, "HOSTPULSE_PLUGINS": "cpu,memory,exec,demo"}
    done = subprocess.run(
        [str(HOSTPULSE), "agent", "--once", "--config", str(tmp_path / "agent.toml"), *args],
        check=False, capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def test_defaults_give_the_dashboards_cpu_series_and_no_demo_data(tmp_path: Path) -> None:
    records = once(tmp_path, "")
    metrics = {(r["metric"], json.dumps(r["labels"], sort_keys=True)) for r in records}
    assert ("cpu.percent", '{"cpu": "total"}') in metrics
    assert ("mem.percent", "{}") in metrics
    assert not any(str(r["metric"]).startswith(("demo.", "sensor.", "exec.")) for r in records)


def test_configured_exec_and_demo_sources_run(tmp_path: Path) -> None:
    script = tmp_path / "queue.py"
    script.write_text("print('queue.depth 7')\n")
    config = (
        "[plugins.exec]\n"
        f"commands = [{json.dumps(f'{sys.executable} {script}')}]\n"
        "format = 'lines'\n"
        "[plugins.demo_spikes]\n"
        "seed = 1\n"
    )
    executed = once(tmp_path, config, "--source", "exec")
    assert [(r["metric"], r["value"]) for r in executed] == [("exec.queue.depth", 7.0)]
    spikes = once(tmp_path, config, "--source", "demo_spikes")
    assert [r["metric"] for r in spikes] == ["demo.spikes"]
