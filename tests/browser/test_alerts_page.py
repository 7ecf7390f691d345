"""The alerts in a real browser, against a served hub whose rules real samples cross: the alerts
page (firing, live resolve, filters), the top bar's and the title's count, a host card's alert,
the shaded span on a chart, and acknowledging and silencing from the page, the silence checked
against a real webhook receiver."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.conftest import Dashboard, Feeder, series
from tests.hub.alerts.receiver import Receiver, receiver  # noqa: F401 - a fixture, found by name
from tests.hub.alerts.test_served_hub import wait_for
from tests.support.hub_process import LiveHub, start_hub

pytestmark = pytest.mark.browser

CONFIG = """
[alerts]
defaults = false

[[alerts.rules]]
name = "disk_full"
kind = "threshold"
metric = "disk.percent"
warning = 85
critical = 95
for = "0s"
notify = ["ops"]

[[alerts.rules]]
name = "memory_high"
kind = "threshold"
metric = "mem.percent"
warning = 90
for = "1h"

[[alerts.notifiers]]
name = "ops"
kind = "webhook"
url = "http://127.0.0.1:{port}/hook"
"""

FIRING_ROW = 'table[data-state="firing"] tr[data-host="{host}"][data-rule="disk_full"]'


@pytest.fixture
def live_hub(tmp_path: Path, receiver: Receiver) -> Iterator[LiveHub]:  # noqa: F811
    """The browser fixtures' hub (``dashboard``, ``feeder``), here with alert rules."""
    config = tmp_path / "hub.toml"
    config.write_text(CONFIG.format(port=receiver.port))
    hub = start_hub(tmp_path / "hub", extra_args=("--config", str(config)))
    try:
        yield hub
    finally:
        hub.stop()


def now_ms() -> int:
    return int(time.time() * 1000)


def disk(feeder: Feeder, host: str, values: list[float], end: int | None = None) -> None:
    """One batch of disk.percent points for mount "/", one second apart, ending at ``end``."""
    end = end if end is not None else now_ms() - 500
    ts = [end - 1000 * (len(values) - 1 - i) for i in range(len(values))]
    feeder.post(host, [series("disk.percent", ts, values, "%", {"mount": "/"})])


def api(dashboard: Dashboard, path: str) -> Any:
    return httpx.get(f"{dashboard.url}/api/v1/alerts{path}", timeout=10).json()


def test_firing_alert_is_listed_counted_in_top_bar_and_title_and_resolves_live(
    dashboard: Dashboard, feeder: Feeder
) -> None:
    dashboard.open("#/alerts")
    page = dashboard.page
    page.locator('table[data-state="firing"] tr.none').wait_for()
    assert page.locator("#alert-count").is_hidden()
    disk(feeder, "web1", [50.0])
    disk(feeder, "web1", [97.5])  # over 95 with for = 0s: fires at once
    row = page.locator(FIRING_ROW.format(host="web1"))
    row.wait_for()
    assert row.get_attribute("data-severity") == "critical"
    assert "97.5" in row.inner_text() and "disk.percent" in row.inner_text()
    dashboard.wait("() => document.querySelector('#alert-count').textContent === '1'")
    assert page.locator("#alert-count").is_visible()
    dashboard.wait("() => document.title.startsWith('(1) ')")
    assert page.title() == "(1) Alerts · HostPulse"

    disk(feeder, "web1", [40.0])  # back under: resolved, on the open page without a reload
    row.wait_for(state="detached")
    dashboard.wait("() => document.title === 'Alerts · HostPulse'")
    assert page.locator("#alert-count").is_hidden()
    resolved = page.locator('table.history tr[data-host="web1"][data-state="resolved"]')
    resolved.wait_for()
    assert "firing → resolved" in resolved.inner_text()
    assert dashboard.errors == []


def test_a_pending_alert_is_listed_but_not_counted(dashboard: Dashboard, feeder: Feeder) -> None:
    dashboard.open("#/alerts")
    page = dashboard.page
    page.locator('table[data-state="pending"] tr.none').wait_for()
    feeder.post("db1", [series("mem.percent", [now_ms() - 500], [93.0], "%")])  # for = 1h: pending
    row = page.locator('table[data-state="pending"] tr[data-host="db1"][data-rule="memory_high"]')
    row.wait_for()
    assert row.get_attribute("data-severity") == "warning" and "93" in row.inner_text()
    assert "Nothing is firing" in page.locator('table[data-state="firing"]').inner_text()
    assert page.locator("#alert-count").is_hidden() and page.title() == "Alerts · HostPulse"
    assert dashboard.errors == []


def test_filter_by_host_and_severity(dashboard: Dashboard, feeder: Feeder) -> None:
    disk(feeder, "web1", [97.0])  # critical
    disk(feeder, "web2", [90.0])  # warning
    wait_for(lambda: len(api(dashboard, "")["alerts"]) == 2)
    dashboard.open("#/alerts")
    page = dashboard.page
    page.locator(FIRING_ROW.format(host="web2")).wait_for()
    assert page.locator('table[data-state="firing"] tbody tr[data-key]').count() == 2

    page.select_option('select[name="host"]', "web2")
    page.locator(FIRING_ROW.format(host="web1")).wait_for(state="detached")
    assert page.locator('table[data-state="firing"] tbody tr[data-key]').count() == 1
    assert "host=web2" in page.url
    page.select_option('select[name="severity"]', "critical")
    page.locator(FIRING_ROW.format(host="web2")).wait_for(state="detached")
    assert "Nothing is firing" in page.locator('table[data-state="firing"]').inner_text()

    page.select_option('select[name="host"]', "")
    page.locator(FIRING_ROW.format(host="web1")).wait_for()
    rows = page.locator('table[data-state="firing"] tbody tr[data-key]')
    assert rows.count() == 1 and rows.first.get_attribute("data-severity") == "critical"
    # the top bar counts every firing alert, whatever the page shows
    assert page.locator("#alert-count").inner_text() == "2"
    assert dashboard.errors == []


def test_host_card_shows_its_firing_alerts(dashboard: Dashboard, feeder: Feeder) -> None:
    disk(feeder, "web1", [97.0])
    disk(feeder, "web2", [20.0])
    wait_for(lambda: len(api(dashboard, "")["alerts"]) == 1)
    dashboard.open("#/")
    card = dashboard.page.locator('article.host-card[data-host="web1"] .card-alerts li')
    card.wait_for()
    assert card.get_attribute("data-severity") == "critical"
    assert "disk_full" in card.inner_text() and "mount=/" in card.inner_text()
    quiet = dashboard.page.locator('article.host-card[data-host="web2"] .card-alerts')
    assert quiet.is_hidden()
    assert dashboard.errors == []


def test_the_chart_shades_the_alert_span(dashboard: Dashboard, feeder: Feeder) -> None:
    end = now_ms() - 1000
    t0 = end - 60_000
    # A batch is judged at its newest point: the first high and low points come alone, as an
    # agent sending every second would send them, so the episode is the high stretch.
    disk(feeder, "web1", [50.0] * 20, end=t0 + 19_000)
    disk(feeder, "web1", [97.0], end=t0 + 20_000)  # fires
    disk(feeder, "web1", [97.0] * 19, end=t0 + 39_000)
    disk(feeder, "web1", [40.0], end=t0 + 40_000)  # resolves
    disk(feeder, "web1", [40.0] * 19, end=t0 + 59_000)
    wait_for(lambda: any(h["state"] == "resolved" for h in api(dashboard, "/history")["history"]))
    (episode,) = [h for h in api(dashboard, "/history")["history"] if h["state"] == "resolved"]
    start, stop = episode["starts_at"], episode["ends_at"]
    assert (start, stop) == (t0 + 20_000, t0 + 40_000)
    dashboard.open("#/host/web1")
    key = "host:web1:disk.percent"
    dashboard.wait(
        "(k) => { const c = window.hostpulse.charts.get(k); return c && c.renders > 0 && c.spans.length }",
        key,
    )
    # Count reddish pixels on the row at 75 % (no data, no threshold line there) inside the
    # span and outside it: the box is shaded critical red, the rest of the row is bare.
    counts = dashboard.evaluate(
        """([k, spans]) => {
          const chart = window.hostpulse.charts.get(k).chart;
          const ratio = chart.currentDevicePixelRatio, x = chart.scales.x;
          const y = Math.round(chart.scales.y0.getPixelForValue(75) * ratio);
          return spans.map(([from, to]) => {
            const left = Math.round(x.getPixelForValue(from) * ratio) + 2;
            const width = Math.round(x.getPixelForValue(to) * ratio) - 2 - left;
            const data = chart.ctx.getImageData(left, y, width, 1).data;
            let reddish = 0;
            for (let i = 0; i < data.length; i += 4) if (data[i + 3] > 0 && data[i] > 150 && data[i] > data[i + 2] + 60) reddish++;
            return [reddish, width];
          });
        }""",
        [key, [[start, stop], [t0, t0 + 19_000]]],
    )
    (inside, inside_width), (outside, _) = counts
    assert inside_width > 20 and inside >= inside_width * 0.9, counts
    assert outside == 0, counts
    assert dashboard.errors == []


def test_acknowledge_from_the_page(dashboard: Dashboard, feeder: Feeder) -> None:
    disk(feeder, "web1", [97.0])
    wait_for(lambda: len(api(dashboard, "")["alerts"]) == 1)
    dashboard.open("#/alerts")
    page = dashboard.page
    row = page.locator(FIRING_ROW.format(host="web1"))
    row.locator("button.ack").click()
    form = page.locator('tr.alert-form[data-form="ack"]')
    form.locator('input[name="comment"]').fill("on it")
    form.locator('select[name="duration"]').select_option(label="4 hours")
    form.locator('button[type="submit"]').click()
    row.locator(".badge.acked").wait_for()
    assert row.locator(".badge.acked").inner_text() == "acknowledged: on it"
    (ack,) = api(dashboard, "/acks")["acks"]
    assert ack["comment"] == "on it" and ack["host"] == "web1"
    assert 4 * 3600_000 - 60_000 < ack["ends_at"] - ack["created_at"] <= 4 * 3600_000
    (alert,) = api(dashboard, "")["alerts"]
    assert alert["acked_by"] == ack["id"]

    row.locator("button.unack").click()
    row.locator("button.ack").wait_for()
    assert api(dashboard, "/acks")["acks"] == []
    assert dashboard.errors == []


def test_silencing_from_the_page_stops_notifications(
    dashboard: Dashboard, feeder: Feeder, receiver: Receiver  # noqa: F811
) -> None:
    disk(feeder, "web1", [97.0])
    wait_for(lambda: len(receiver.bodies) == 1)  # the firing message
    dashboard.open("#/alerts")
    page = dashboard.page
    row = page.locator(FIRING_ROW.format(host="web1"))
    row.locator("button.silence").click()
    form = page.locator('tr.alert-form[data-form="silence"]')
    form.locator('input[name="comment"]').fill("disk swap")
    form.locator('button[type="submit"]').click()
    row.locator(".badge.silenced").wait_for()
    page.locator("ul.silences li[data-silence]").wait_for()
    (silence,) = api(dashboard, "/silences")["silences"]
    assert (silence["rule"], silence["host"], silence["labels"], silence["comment"]) == (
        "disk_full", "web1", {"mount": "/"}, "disk swap",
    )  # fmt: skip

    disk(feeder, "web1", [30.0])  # resolved: its message is due, and silenced
    wait_for(lambda: api(dashboard, "/delivery")["silenced"] == 1)
    assert api(dashboard, "/delivery")["sent"] == 1
    assert len(receiver.bodies) == 1  # nothing reached the receiver after the silence
    page.locator(FIRING_ROW.format(host="web1")).wait_for(state="detached")
    assert dashboard.errors == []
