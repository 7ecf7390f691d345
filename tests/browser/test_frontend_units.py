"""The dashboard's pure modules (formatting, buffers, chart layout, ranges) under node's test runner."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

FRONTEND = Path(__file__).resolve().parents[2] / "frontend"


def test_node_unit_tests_pass() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is missing: the dashboard build needs it anyway")
    done = subprocess.run(
        [node, "--test", "test/"],
        check=False,
        cwd=FRONTEND,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "# fail 0" in done.stdout
