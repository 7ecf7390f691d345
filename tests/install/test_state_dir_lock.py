"""Two agents on one state dir: the second stops at start naming the first one's PID."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest


def _agent(state_dir: Path, host: str) -> list[str]:
    # An unreachable hub: the first agent keeps running (spooling) while the second one starts.
    return [sys.executable, "-m", "hostpulse.hub.commands.main", "agent", "--hub",
            "http://127.0.0.1:9", "--host", host, "--state-dir", str(state_dir),
            "--source", "uptime"]


def test_second_agent_on_a_state_dir_stops_naming_the_first(tmp_path: Path) -> None:
    env = {**os.environ, "HOSTPULSE_TOKEN": "hp_test"}
    first = subprocess.Popen(_agent(tmp_path, "a"), env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        lock = tmp_path / "agent.lock"
        deadline = time.monotonic() + 20
        while not (lock.is_file() and lock.read_text().strip() == str(first.pid)):
            assert first.poll() is None, "the first agent exited"
            if time.monotonic() > deadline:
                pytest.fail("the first agent never took the state-dir lock")
            time.sleep(0.1)
        second = subprocess.run(_agent(tmp_path, "b"), env=env, capture_output=True, text=True,
                                timeout=30, check=False)
        assert second.returncode != 0
        assert f"PID {first.pid}" in second.stderr and str(tmp_path) in second.stderr
        assert "Traceback" not in second.stderr
        assert first.poll() is None, "the second agent must not disturb the first"
    finally:
        first.terminate()
        first.wait(timeout=20)
    # The lock died with its owner: a new agent may take the directory now.
    third = subprocess.Popen(_agent(tmp_path, "b"), env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while (tmp_path / "agent.lock").read_text().strip() != str(third.pid):
            assert third.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
    finally:
        third.terminate()
        third.wait(timeout=20)
