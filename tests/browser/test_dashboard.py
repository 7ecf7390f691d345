"""The overview in a real browser: hosts listed, CPU charts fed live through the WebSocket."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.browser.conftest import Dashboard, Feeder

pytestmark = pytest.mark.browser


def feed_until(dashboard: Dashboard, feeder: Feeder, host: str, key: str, at_least: int) -> int:
    """Post one CPU point at a time until the chart counts `at_least` live points (bounded)."""
    for i in range(60):
        feeder.cpu(host, [20.0 + i % 7])
        try:
            dashboard.page.wait_for_function(
                "([k, n]) => { const c = window.hostpulse.charts.get(k); return c && c.pointsReceived >= n }",
                arg=[key, at_least],
                timeout=250,
            )
            return dashboard.points_received(key)
        except PlaywrightTimeout:
            pass  # not there yet: post another point and look again
    return dashboard.points_received(key)


def test_live_cpu_chart_receives_points(dashboard: Dashboard, feeder: Feeder) -> None:
    now = int(time.time() * 1000)
    feeder.cpu("web-1", [10.0, 12.0, 15.0, 11.0, 13.0], end_ms=now - 2000)

    dashboard.open()
    card = dashboard.page.locator('article.host-card[data-host="web-1"]')
    card.wait_for()
    assert card.locator(".host-name").inner_text() == "web-1"
    # History came from the points API before any live point.
    dashboard.page.wait_for_function(
        "() => { const c = window.hostpulse.charts.get('overview:web-1:cpu.percent');"
        " return c && c.entries.length && c.entries[0].buffer.data.length >= 5 }"
    )

    received = feed_until(dashboard, feeder, "web-1", "overview:web-1:cpu.percent", 3)
    assert received >= 3
    box = card.locator(".chart-box")
    dashboard.page.wait_for_function(
        "(el) => Number(el.dataset.pointsReceived) >= 3", arg=box.element_handle()
    )
    assert dashboard.errors == []


def test_new_host_appearing_live_gets_a_chart(dashboard: Dashboard, feeder: Feeder) -> None:
    feeder.cpu("web-1", [5.0])
    dashboard.open()
    dashboard.page.locator('article.host-card[data-host="web-1"]').wait_for()

    received = feed_until(dashboard, feeder, "db-2", "overview:db-2:cpu.percent", 1)
    assert received >= 1
    assert dashboard.page.locator("article.host-card").count() == 2
    assert dashboard.errors == []


def test_host_name_with_markup_renders_as_text(dashboard: Dashboard, feeder: Feeder) -> None:
    name = "<b>x</b>"
    try:
        feeder.cpu(name, [1.0])
    except AssertionError:
        pytest.skip("the hub does not accept this host name, so it cannot reach the page")
    dashboard.open()
    link = dashboard.page.locator("article.host-card .host-name").first
    link.wait_for()
    assert link.inner_text() == name
    assert dashboard.page.locator("article.host-card b").count() == 0
    assert dashboard.errors == []
