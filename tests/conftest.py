"""Fixtures shared by the whole suite: a real hub process on a free port with its own database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.hub_process import LiveHub, start_hub


@pytest.fixture
def live_hub(tmp_path: Path) -> Iterator[LiveHub]:
    """A real ``hostpulse hub`` process on SQLite in a temp dir; stopped with SIGTERM afterwards."""
    hub = start_hub(tmp_path / "hub")
    try:
        yield hub
    finally:
        hub.stop()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests last: Playwright's sync API keeps an event loop running in the main thread
    for as long as its session-scoped browser lives, and pytest-asyncio tests cannot run beside it."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)
