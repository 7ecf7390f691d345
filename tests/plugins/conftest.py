"""Fixtures for the built-in plugin tests (helpers live in ``recorded.py``)."""

from __future__ import annotations

import pytest
from recorded import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
