"""Fixtures and hooks of the hostile-input scenarios: the fault scenarios' own, so that both
folders record their rows of docs/reliability.md the same way."""

from tests.reliability.conftest import (  # noqa: F401 - pytest finds them by name in this module
    clean_env,
    pytest_collection_finish,
    pytest_configure,
    pytest_runtest_makereport,
    pytest_sessionfinish,
)
