"""Compare and anomalies pages in a real browser."""

from __future__ import annotations

import re
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


def test_an_anomaly_scored_by_the_hub_is_listed_with_its_expected_band(
    dashboard: Dashboard, feeder: Feeder
) -> None:
    """A quiet CPU near 1 % (so the band's low end is below zero), then a spike to 99 %."""
    host = "quiet-1"
    end = int(time.time() * 1000) - 5000
    feeder.post(host, [series("cpu.percent", [end - 1000 * (89 - i) for i in range(90)],
                              [(0.1, 2.9, 0.4, 2.2, 1.0)[i % 5] for i in range(90)], "%", {"cpu": "total"})])
    for _ in range(20):
        feeder.post(host, cpu(99.0))
        listed = feeder.hub.get("/api/v1/anomalies", host=host).json()["anomalies"]
        if listed:
            break
        time.sleep(0.2)
    assert listed and listed[0]["low"] < 0 < listed[0]["high"] < 99.0, listed
    dashboard.open("#/anomalies")
    cells = dashboard.page.locator(f'table.anomalies tbody tr[data-host="{host}"]').first.locator("td")
    cells.first.wait_for()
    texts = cells.all_inner_texts()
    assert texts[1] == host and texts[2].startswith("cpu.percent") and "cpu=total" in texts[2]
    assert texts[3] == "99.0 %"
    # "up to 3.4 %", not "-2.1 % – 3.4 %": a percentage is never below zero.
    assert re.fullmatch(r"up to \d+(\.\d)? %", texts[4]), texts[4]
    href = cells.first.locator("a").get_attribute("href") or ""
    assert href.startswith(f"#/host/{host}") and "range=custom" in href
    assert dashboard.errors == []
