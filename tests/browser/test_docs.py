"""The hub's /docs renders with the Swagger UI copied into the dashboard build, offline."""

from __future__ import annotations

import pytest

from tests.browser.conftest import Dashboard

pytestmark = pytest.mark.browser


def test_docs_render_from_local_swagger_ui(dashboard: Dashboard) -> None:
    requested: list[str] = []
    dashboard.page.on("request", lambda r: requested.append(r.url))
    dashboard.page.goto(f"{dashboard.url}/docs")
    dashboard.page.locator(".swagger-ui .info .title").wait_for()
    dashboard.page.locator(".opblock-summary-path", has_text="/api/v1/hosts").first.wait_for()
    assert all(url.startswith(dashboard.url) for url in requested), requested
    assert dashboard.errors == []
