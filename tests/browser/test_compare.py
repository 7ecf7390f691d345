"""Compare and anomalies pages in a real browser."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.browser.conftest import Dashboard, Feeder, series

pytestmark = pytest.mark.browser
KEY = "compare:cpu.percent"


def cpu(value: float) -> list[dict[str, object]]:
    return [series("cpu.percent", [int(time.time() * 1000)], [value], "%", {"cpu": "total"})]


def datasets(dashboard: Dashboard) -> list[str]:
    return dashboard.evaluate(
        "(k) => window.hostpulse.charts.get(k).chart.data.datasets.filter(d => !d.band).map(d => d.label)",
        KEY,
    )


def test_one_metric_across_hosts_overlaid_and_live(dashboard: Dashboard, feeder: Feeder) -> None:
    for name, value in (("web-1", 10.0), ("web-2", 60.0), ("db-1", 30.0)):
        feeder.post(name, cpu(value))
    dashboard.open("#/compare?metric=cpu.percent")
    dashboard.wait(
        "(k) => { const c = window.hostpulse.charts.get(k); return c && c.renders > 0 }", KEY
    )
    assert sorted(datasets(dashboard)) == ["db-1", "web-1", "web-2"]

    for _ in range(40):
        feeder.post("web-2", cpu(61.0))
        try:
            dashboard.wait(
                "(k) => window.hostpulse.charts.get(k).pointsReceived > 0", KEY, timeout=300
            )
            break
        except PlaywrightTimeout:
            pass
    assert dashboard.points_received(KEY) > 0

    dashboard.page.get_by_role("checkbox", name="db-1").uncheck()
    dashboard.wait(
        "(k) => { const c = window.hostpulse.charts.get(k); return c && c.chart.data.datasets.length === 2 }",
        KEY,
    )
    assert sorted(datasets(dashboard)) == ["web-1", "web-2"]
    assert "hosts=web-1%2Cweb-2" in dashboard.page.url or "hosts=web-1,web-2" in dashboard.page.url
    assert dashboard.errors == []


def test_anomalies_page_lists_or_explains(dashboard: Dashboard, feeder: Feeder) -> None:
    feeder.post("web-1", cpu(10.0))
    dashboard.open("#/anomalies")
    note = dashboard.page.locator("p.empty")
    dashboard.wait(
        "() => !document.querySelector('p.empty') || !/Loading/.test(document.querySelector('p.empty').textContent)"
    )
    rows = dashboard.page.locator("table.anomalies tbody tr")
    if rows.count():
        href = rows.first.locator("a").first.get_attribute("href") or ""
        assert href.startswith("#/host/") and "range=custom" in href
    else:
        assert note.inner_text() in (
            "No anomalies in this range.",
            "This hub does not report anomalies.",
        )
    assert dashboard.errors == []
