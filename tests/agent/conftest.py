"""Fixtures of the agent's tests: a clean environment, a stand-in hub, plugin directories."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.agent.sink import Sink

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No HOSTPULSE_* setting of the developer's leaks in; no installed plugin loads unless asked."""
    for key in list(os.environ):
        if key.startswith("HOSTPULSE_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("HOSTPULSE_PLUGINS", "")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))


@pytest.fixture
def sink() -> Iterator[Sink]:
    server = Sink().start()
    try:
        yield server
    finally:
        server.stop()


def write_plugin(directory: Path, name: str, code: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.py"
    path.write_text(textwrap.dedent(code))
    return path


COUNTER_PLUGIN = """
    import itertools
    from hostpulse import Option, Sample, Source, hookimpl

    class Counter(Source):
        '''Counts collections: 1, 2, 3 ... so a test can see every tick arrive once.'''
        name = "counter"
        interval = 0.2
        options = {"step": Option(int, 1, "added each tick")}

        def __init__(self, **config):
            super().__init__(**config)
            self.count = itertools.count(1)

        def collect(self):
            yield Sample("test.counter", next(self.count) * self.config["step"], {"k": "v"}, "n")

    @hookimpl
    def register_sources():
        return [Counter]
"""


@pytest.fixture
def plugin_dir(tmp_path: Path) -> Path:
    """A plugin directory holding the ``counter`` source."""
    directory = tmp_path / "plugins"
    write_plugin(directory, "counter", COUNTER_PLUGIN)
    return directory


def hostpulse(*args: str) -> list[str]:
    """The argv that runs the real ``hostpulse`` command of this checkout."""
    return [sys.executable, "-c", "from hostpulse.hub.commands.main import main; main()", *args]


def run(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        hostpulse(*args), capture_output=True, text=True, env={**os.environ, **(env or {})},
        cwd=ROOT, timeout=timeout, check=False,
    )
