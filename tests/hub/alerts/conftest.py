"""The alerts tests' webhook receiver: a real HTTP server in the test process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.hub.alerts.receiver import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    r.up()
    yield r
    r.down()
