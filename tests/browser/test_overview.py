"""The overview in a real browser: meters coloured by thresholds, sorting and filtering."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.browser.conftest import Dashboard, Feeder, series

pytestmark = pytest.mark.browser


def now_ms() -> int:
    return int(time.time() * 1000)


def usage(cpu: float, mem: float, disk: float) -> list[dict[str, object]]:
    ts = [now_ms()]
    return [
        series("cpu.percent", ts, [cpu], "%", {"cpu": "total"}),
        series("mem.percent", ts, [mem], "%"),
        series("disk.percent", ts, [disk], "%", {"mount": "/"}),
        series("net.rx_bytes_per_s", ts, [3.0 * 1024 * 1024], "B/s", {"iface": "eth0"}),
        series("net.tx_bytes_per_s", ts, [1024.0 * 1024], "B/s", {"iface": "eth0"}),
    ]


def feed_until(dashboard: Dashboard, condition: str, post: object) -> None:
    """Call `post()` until the JS `condition` holds (bounded: the stream may still be subscribing)."""
    for _ in range(40):
        post()  # type: ignore[operator]
        try:
            dashboard.wait(condition, timeout=500)
            return
        except PlaywrightTimeout:
            pass
    dashboard.wait(condition, timeout=500)


def test_meters_are_coloured_by_thresholds(dashboard: Dashboard, feeder: Feeder) -> None:
    feeder.post("busy", usage(95.0, 92.0, 50.0))
    dashboard.open()
    card = dashboard.page.locator('article.host-card[data-host="busy"]')
    card.wait_for()
    feed_until(
        dashboard,
        """() => { const v = document.querySelector('article[data-host="busy"] .net-value');
                   return v && v.textContent.includes('MiB/s') }""",
        lambda: feeder.post("busy", usage(95.0, 92.0, 50.0)),
    )
    levels = card.locator(".meter[data-level]").evaluate_all(
        "els => els.map(e => [e.querySelector('.meter-title').textContent, e.dataset.level,"
        " e.querySelector('.meter-value').textContent])"
    )
    assert levels == [
        ["CPU", "critical", "95.0 %"],
        ["Mem", "warning", "92.0 %"],
        ["Disk", "ok", "50.0 %"],
    ]
    assert card.locator(".net-value").inner_text() == "4 MiB/s"
    assert dashboard.errors == []


def test_sort_by_cpu_and_filter_by_name(dashboard: Dashboard, feeder: Feeder) -> None:
    loads = {"alpha": 10.0, "beta": 50.0, "gamma": 30.0}
    for name, cpu in loads.items():
        feeder.post(name, usage(cpu, 20.0, 20.0))
    dashboard.open()
    dashboard.page.locator('article.host-card[data-host="gamma"]').wait_for()

    def post_all() -> None:
        for name, cpu in loads.items():
            feeder.post(name, usage(cpu, 20.0, 20.0))

    feed_until(
        dashboard,
        """() => [...document.querySelectorAll('article.host-card .meter-value')]
                   .filter(v => v.textContent !== '–').length >= 9""",
        post_all,
    )
    dashboard.page.get_by_label("Sort by").select_option("cpu")
    order = dashboard.evaluate(
        """() => [...document.querySelectorAll('article.host-card')]
                   .sort((a, b) => Number(a.style.order) - Number(b.style.order))
                   .map(a => a.dataset.host)"""
    )
    assert order == ["beta", "gamma", "alpha"]
    assert "sort=cpu" in dashboard.page.url

    dashboard.page.keyboard.press("/")  # the shortcut focuses the filter
    dashboard.page.keyboard.type("gam")
    visible = dashboard.page.locator("article.host-card:visible")
    assert visible.evaluate_all("els => els.map(e => e.dataset.host)") == ["gamma"]
    assert "q=gam" in dashboard.page.url
    assert dashboard.errors == []
