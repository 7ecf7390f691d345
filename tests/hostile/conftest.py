"""Fixtures and hooks of the hostile-input scenarios: the fault scenarios' own, so that both
folders record their rows of docs/reliability.md the same way."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.reliability.conftest import (  # noqa: F401 - pytest finds them by name in this module
    clean_env,
    pytest_collection_finish,
    pytest_configure,
    pytest_runtest_makereport,
    pytest_sessionfinish,
)
from tests.support.hub_process import LiveHub, start_hub


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[LiveHub]:
    """One served hub per test module, its rate limit off so a probe's volume is not refused."""
    name = request.module.__name__.rsplit(".", 1)[-1]
    hub = start_hub(tmp_path_factory.mktemp(name), env={"HOSTPULSE_RATE_LIMIT_PER_S": "0"})
    try:
        yield hub
    finally:
        hub.stop()
