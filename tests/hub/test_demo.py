"""``hostpulse demo``: one command gives a hub, a local agent with system and demo sources, and a URL."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx

from tests.support.hub_process import HOSTPULSE, free_port


def test_demo_serves_the_dashboard_and_local_samples(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ}
    env.pop("HOSTPULSE_PLUGINS", None)  # the demo runs the built-ins as installed
    demo = subprocess.Popen(
        [HOSTPULSE, "demo", "--bind", f"127.0.0.1:{port}", "--data-dir", str(tmp_path), "--host", "demo-host"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        url = demo.stdout.readline().strip()
        assert url == f"http://127.0.0.1:{port}/"
        metrics: set[str] = set()
        deadline = time.monotonic() + 40
        wanted = {"cpu.percent", "mem.used", "demo.random", "demo.spikes", "sensor.temperature"}
        while time.monotonic() < deadline and not wanted <= metrics:
            time.sleep(0.5)
            series = httpx.get(f"{url}api/v1/series", params={"host": "demo-host"}, timeout=5).json()["series"]
            metrics = {s["metric"] for s in series}
        assert wanted <= metrics
        page = httpx.get(url, timeout=5)
        assert page.status_code == 200 and "<script" in page.text
        assert (tmp_path / "hub.sqlite3").is_file()
    finally:
        demo.send_signal(signal.SIGINT)
        _, err = demo.communicate(timeout=30)
    assert demo.returncode == 0, err
