"""The alerts tests' webhook receiver: a real HTTP server in the test process."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from hostpulse.hub.storage.database import close_database, open_database
from tests.hub.alerts.receiver import Receiver, receiver  # noqa: F401 - a fixture, found by name


@pytest.fixture
async def db(tmp_path) -> AsyncIterator[str]:
    """A migrated SQLite database of the test's own: the outbox and the states live there."""
    url = f"sqlite://{tmp_path / 'alerts.sqlite3'}"
    await open_database(url)
    yield url
    await close_database()
