"""Fixtures shared by the whole suite: a real hub process on a free port with its own database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """The suite's one chromium, for tests/browser and tests/install alike: a second
    ``sync_playwright()`` in the same process fails ("Sync API inside the asyncio loop")."""
    from tests.browser.conftest import CHROMIUM, CHROMIUM_FLAGS

    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"{CHROMIUM} is missing: apt-get install -y chromium (never `playwright install`)"
        )
    playwright_sync = pytest.importorskip("playwright.sync_api")
    with playwright_sync.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        yield browser
        browser.close()
