"""Fixtures and hooks of the fault scenarios; hooks shared with tests/hostile/conftest.py."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.reliability import scenarios


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No HOSTPULSE_* setting of the developer's leaks into the hubs and agents started here."""
    for key in list(os.environ):
        if key.startswith("HOSTPULSE_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("HOSTPULSE_PLUGINS", "")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))


def pytest_collection_finish(session: pytest.Session) -> None:
    scenarios.start_session()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    scenarios.report_hook(item, outcome.get_result())


def pytest_sessionfinish(session: pytest.Session) -> None:
    scenarios.write_doc_if_complete()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "scenario(done, checked): a row of docs/reliability.md")
