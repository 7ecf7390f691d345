"""A host's page in a real browser: charts by source, live points, pause, ranges, thresholds,
anomalies, reconnect with gap fill, and text-only rendering of names and labels."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.browser.conftest import Dashboard, Feeder, series

pytestmark = pytest.mark.browser

HOST = "web-1"
CPU_KEY = f"host:{HOST}:cpu.percent"


def now_ms() -> int:
    return int(time.time() * 1000)


def host_series(ts: list[int], base: float = 20.0) -> list[dict[str, Any]]:
    """Series from several sources, as a host with a custom plugin would send them."""
    n = len(ts)
    return [
        series("cpu.percent", ts, [base + i % 5 for i in range(n)], "%", {"cpu": "total"}),
        series("cpu.percent", ts, [base + i % 3 for i in range(n)], "%", {"cpu": "0"}),
        series("mem.used", ts, [2.0**31 + i for i in range(n)], "B"),
        series("mem.percent", ts, [50.0] * n, "%"),
        series(
            "net.rx_bytes_per_s", ts, [1024.0 * (i + 1) for i in range(n)], "B/s", {"iface": "eth0"}
        ),
        series("sensor.temperature", ts, [21.5] * n, "°C", {"room": "lab"}),
        series("sensor.humidity", ts, [45.0] * n, "%", {"room": "lab"}),
        series("sensor.pressure", ts, [1013.0] * n, "hPa", {"room": "lab"}),
        series("solar.power", ts, [350.0] * n, "W", {"panel": "roof"}),
    ]


def open_host(dashboard: Dashboard, feeder: Feeder, query: str = "") -> None:
    end = now_ms() - 1000
    feeder.post(HOST, host_series([end - 1000 * i for i in range(30, 0, -1)]))
    dashboard.open(f"#/host/{HOST}{query}")
    dashboard.wait(
        "(k) => { const c = window.hostpulse.charts.get(k); return c && c.renders > 0 }", CPU_KEY
    )


def feed_live(dashboard: Dashboard, feeder: Feeder, key: str, at_least: int) -> int:
    """Post one round at a time until chart `key` counts `at_least` live points (bounded)."""
    for _ in range(60):
        feeder.post(HOST, host_series([now_ms()]))
        try:
            dashboard.wait(
                "([k, n]) => { const c = window.hostpulse.charts.get(k); return c && c.pointsReceived >= n }",
                [key, at_least],
                timeout=250,
            )
            break
        except PlaywrightTimeout:
            pass
    return dashboard.points_received(key)


def test_charts_grouped_by_source_and_live(dashboard: Dashboard, feeder: Feeder) -> None:
    open_host(dashboard, feeder)
    groups = dashboard.evaluate(
        "() => [...document.querySelectorAll('section.group')].map(s => s.dataset.group)"
    )
    # Known sources in their order, then a custom plugin's prefix, charted without configuration.
    assert groups == ["cpu", "memory", "network", "sensors", "solar"]
    axes = dashboard.evaluate(
        """() => { const c = window.hostpulse.charts.get('host:web-1:sensors/all').chart;
                   return Object.keys(c.options.scales).filter(k => k.startsWith('y'))
                     .map(k => c.options.scales[k].title.text) }"""
    )
    assert sorted(axes) == sorted(["%", "hPa", "°C"])
    assert feed_live(dashboard, feeder, CPU_KEY, 2) >= 2
    assert feed_live(dashboard, feeder, f"host:{HOST}:solar.power", 2) >= 2
    assert dashboard.errors == []


def test_pause_stops_live_points_and_resume_restarts_them(
    dashboard: Dashboard, feeder: Feeder
) -> None:
    open_host(dashboard, feeder)
    feed_live(dashboard, feeder, CPU_KEY, 1)
    dashboard.page.get_by_role("button", name="Pause").click()
    held = dashboard.points_received(CPU_KEY)
    frames = dashboard.evaluate("() => window.hostpulse.live.framesReceived")
    for _ in range(3):
        feeder.post(HOST, host_series([now_ms()]))
    # The frames did arrive over the socket, and the paused chart took none of their points.
    dashboard.wait("(n) => window.hostpulse.live.framesReceived >= n + 3", frames)
    assert dashboard.points_received(CPU_KEY) == held

    dashboard.page.locator("body").press("Space")  # the keyboard shortcut resumes
    dashboard.page.get_by_role("button", name="Pause").wait_for()
    assert feed_live(dashboard, feeder, CPU_KEY, held + 1) > held
    assert dashboard.errors == []


def test_range_change_loads_history(dashboard: Dashboard, feeder: Feeder) -> None:
    old = now_ms() - 2 * 3_600_000
    feeder.post(HOST, host_series([old + 1000 * i for i in range(10)], base=70.0))
    open_host(dashboard, feeder)
    count = (
        "() => window.hostpulse.charts.get('host:web-1:cpu.percent').entries[0].buffer.data.length"
    )
    assert dashboard.evaluate(count) < 40  # the last 5 minutes only

    dashboard.page.locator('button[data-range="6h"]').click()
    dashboard.wait(f"() => ({count})() >= 40")
    assert "range=6h" in dashboard.page.url
    x_min = dashboard.evaluate(
        "() => window.hostpulse.charts.get('host:web-1:cpu.percent').chart.scales.x.min"
    )
    assert x_min < old
    assert dashboard.errors == []


def test_threshold_lines_are_drawn(dashboard: Dashboard, feeder: Feeder) -> None:
    open_host(dashboard, feeder)
    # The lines are the levels the hub answers for the series (GET /api/v1/alerts/levels: the
    # built-in cpu_high unless the hub's config replaces it), the browser matching no rule.
    answer = httpx.get(
        f"{dashboard.url}/api/v1/alerts/levels",
        params={"host": HOST, "metric": "cpu.percent"},
        timeout=10,
    ).json()["levels"]
    cpu = next(e for e in answer if e["labels"] == {"cpu": "total"})
    levels = [v for v in (cpu["warning"], cpu["critical"]) if v is not None]
    assert levels  # the rule draws something
    elsewhere = [v for v in (60.0, 80.0, 90.0) if all(abs(v - lvl) > 3 for lvl in levels)]
    # Read the canvas rows at each level: the dashed lines put warning/critical colour there.
    counts = dashboard.evaluate(
        """(rows) => {
          const chart = window.hostpulse.charts.get('host:web-1:cpu.percent').chart;
          const ctx = chart.ctx, area = chart.chartArea, ratio = chart.currentDevicePixelRatio;
          const row = (v) => {
            const y = Math.round(chart.scales.y0.getPixelForValue(v) * ratio);
            const data = ctx.getImageData(Math.round(area.left * ratio), y, Math.round(area.width * ratio), 1).data;
            let reddish = 0;
            for (let i = 0; i < data.length; i += 4) if (data[i + 3] > 0 && data[i] > 150 && data[i] > data[i + 2] + 60) reddish++;
            return reddish;
          };
          return rows.map(row);
        }""",
        levels + elsewhere,
    )
    assert all(n > 20 for n in counts[: len(levels)]), (levels, counts)
    assert counts[len(levels) :] == [0] * len(elsewhere), (elsewhere, counts)  # no other line
    assert dashboard.errors == []


def test_anomaly_point_is_red_with_its_tooltip(dashboard: Dashboard, feeder: Feeder) -> None:
    open_host(dashboard, feeder)
    # The detector's verdict rides on the streamed point as [ts, value, score, low, high, anomaly].
    # It is handed to the page's live connection as the hub would send it, so the rendering is
    # checked whatever the detector decides about these values.
    spot = dashboard.evaluate(
        """() => {
          const c = window.hostpulse.charts.get('host:web-1:cpu.percent');
          const info = c.entries[0].buffer.info;
          const ts = Date.now() - 2000;
          window.hostpulse.live.emit('points', {type: 'points', host: 'web-1', series: [
            {...info, points: [[ts - 1000, 50, 0.1, 44, 56, false], [ts, 71.3, 0.97, 44, 56, true]]}]});
          return ts;
        }"""
    )
    dashboard.wait(
        """(ts) => { const c = window.hostpulse.charts.get('host:web-1:cpu.percent');
                     return c.chart.getDatasetMeta(0).data.some(p => p.$context && p.$context.raw.x === ts) }""",
        spot,
    )
    point = dashboard.evaluate(
        """(ts) => { const c = window.hostpulse.charts.get('host:web-1:cpu.percent').chart;
                     const el = c.getDatasetMeta(0).data.find(p => p.$context.raw.x === ts);
                     const r = c.canvas.getBoundingClientRect();
                     return {x: r.left + el.x, y: r.top + el.y, color: el.options.backgroundColor,
                             radius: el.options.radius,
                             anomaly: getComputedStyle(document.documentElement).getPropertyValue('--anomaly').trim()} }""",
        spot,
    )
    assert point["color"] == point["anomaly"]
    assert point["radius"] > 2
    dashboard.page.mouse.move(point["x"], point["y"])
    lines = dashboard.wait(
        """() => { const t = window.hostpulse.charts.get('host:web-1:cpu.percent').chart.tooltip;
                   const body = (t.body || []).flatMap(b => b.lines);
                   return body.some(l => l.includes('anomaly')) && body }"""
    )
    assert any("Value: 71.3 % (anomaly, expected 44–56 %)" in line for line in lines), lines
    assert dashboard.errors == []


def test_dropped_connection_reconnects_and_fills_the_gap(
    dashboard: Dashboard, feeder: Feeder
) -> None:
    open_host(dashboard, feeder)
    feed_live(dashboard, feeder, CPU_KEY, 1)
    dashboard.evaluate("() => window.hostpulse.live.suspend()")
    dashboard.page.locator('#conn[data-state="closed"]').wait_for()
    missed = now_ms()
    feeder.post(HOST, host_series([missed]))  # sent while the page is not listening
    dashboard.evaluate("() => window.hostpulse.live.start()")
    dashboard.page.locator('#conn[data-state="open"]').wait_for()
    dashboard.wait(
        """(ts) => window.hostpulse.charts.get('host:web-1:cpu.percent').entries[0]
                     .buffer.data.some(p => p.x === ts)""",
        missed,
    )
    # A drop the page did not ask for is retried with backoff.
    dashboard.evaluate("() => window.hostpulse.live.drop()")
    dashboard.page.locator('#conn[data-state="open"]').wait_for()
    assert dashboard.errors == []


def test_names_and_labels_with_markup_render_as_text(dashboard: Dashboard, feeder: Feeder) -> None:
    name = "<img src=x onerror=window.pwned=1>"
    ts = [now_ms()]
    feeder.post(name, [series("cpu.percent", ts, [5.0], "%", {"cpu": "<b>total</b>"})])
    feeder.post(name, [series("disk.percent", ts, [5.0], "%", {"mount": "<i>/</i>"})])
    dashboard.open("#/host/" + name.replace(" ", "%20"))
    title = dashboard.page.locator("h1.page-title")
    title.wait_for()
    assert title.inner_text() == name
    dashboard.page.locator("section.group[data-group='disk']").wait_for()
    assert dashboard.page.locator("#view img, #view b, #view i").count() == 0
    assert dashboard.evaluate("() => window.pwned") is None
    assert dashboard.errors == []


def test_new_series_of_a_charted_metric_joins_its_chart(
    dashboard: Dashboard, feeder: Feeder
) -> None:
    ts = [now_ms()]
    feeder.post(HOST, [series("disk.percent", ts, [40.0], "%", {"mount": "/"})])
    dashboard.open(f"#/host/{HOST}")
    key = f"host:{HOST}:disk.percent"
    labels = "(k) => { const c = window.hostpulse.charts.get(k); return c && c.entries.map(e => e.label) }"
    dashboard.wait(labels, key)
    assert dashboard.evaluate(labels, key) == ["mount=/"]
    for _ in range(40):  # a disk is mounted while the page is open
        feeder.post(HOST, [series("disk.percent", [now_ms()], [70.0], "%", {"mount": "/data"})])
        try:
            dashboard.wait(f"(k) => ({labels})(k).length === 2", key, timeout=500)
            break
        except PlaywrightTimeout:
            pass
    assert dashboard.evaluate(labels, key) == ["/", "/data"]
    assert dashboard.errors == []


def test_zoom_pauses_live_and_moves_every_chart(dashboard: Dashboard, feeder: Feeder) -> None:
    open_host(dashboard, feeder)
    before = dashboard.evaluate("(k) => window.hostpulse.charts.get(k).chart.scales.x.min", CPU_KEY)
    dashboard.page.locator('.chart-box[data-chart="cpu.percent"] canvas').hover()
    dashboard.page.keyboard.down("Control")  # the wheel zooms only with ctrl, so pages still scroll
    dashboard.page.mouse.wheel(0, -400)
    dashboard.page.keyboard.up("Control")
    dashboard.page.locator('.toolbar[data-paused="true"]').wait_for()
    windows = dashboard.wait(
        """([k, before]) => { const all = [...window.hostpulse.charts.values()].filter(c => c.key.startsWith('host:'));
                 const c = window.hostpulse.charts.get(k);
                 return c.min > before && all.every(o => o.min === c.min && o.max === c.max) && all.length }""",
        [CPU_KEY, before],
    )
    assert windows >= 5
    assert dashboard.page.get_by_role("button", name="Resume").is_visible()
    assert dashboard.errors == []


def test_crosshair_is_shared_across_charts(dashboard: Dashboard, feeder: Feeder) -> None:
    open_host(dashboard, feeder)
    # hover() waits until the canvas stops moving (late labels and legends shift the layout).
    dashboard.page.locator('.chart-box[data-chart="cpu.percent"] canvas').hover()
    moment = dashboard.wait(
        """() => { const get = (k) => window.hostpulse.charts.get(k).chart.$crosshair;
                   const a = get('host:web-1:cpu.percent');
                   return a && a === get('host:web-1:mem.percent') && a }"""
    )
    x_min, x_max = dashboard.evaluate(
        "(k) => { const s = window.hostpulse.charts.get(k).chart.scales.x; return [s.min, s.max] }",
        CPU_KEY,
    )
    assert x_min < moment < x_max
    assert dashboard.errors == []


def test_spike_scored_by_the_hub_is_a_red_point_with_band(
    dashboard: Dashboard, feeder: Feeder
) -> None:
    # 90 steady points (past the detector's 60-sample warm-up), then a spike streamed live.
    end = now_ms() - 5000
    steady = [40.0 + (i % 5) * 0.5 for i in range(90)]
    ts = [end - 1000 * (89 - i) for i in range(90)]
    feeder.post(HOST, [series("cpu.percent", ts, steady, "%", {"cpu": "total"})])
    dashboard.open(f"#/host/{HOST}")
    dashboard.wait(
        "(k) => { const c = window.hostpulse.charts.get(k); return c && c.renders > 0 }", CPU_KEY
    )
    flagged = "(k) => window.hostpulse.charts.get(k).entries[0].buffer.data.find(p => p.anomaly)"
    for _ in range(20):
        feeder.post(HOST, [series("cpu.percent", [now_ms()], [99.0], "%", {"cpu": "total"})])
        try:
            dashboard.wait(f"(k) => ({flagged})(k)", CPU_KEY, timeout=1000)
            break
        except PlaywrightTimeout:
            pass
    point = dashboard.evaluate(flagged, CPU_KEY)
    assert point and point["y"] == 99.0 and point["low"] < point["high"] < 99.0
    assert dashboard.evaluate(
        "(k) => window.hostpulse.charts.get(k).entries[0].buffer.hasBand", CPU_KEY
    )
    dashboard.page.locator('.chart-box[data-chart="cpu.percent"] canvas').hover(
        # Waited for, not read at once: the point is in the buffer before the next frame draws it.
        position=dashboard.wait(
            """([k, ts]) => { const c = window.hostpulse.charts.get(k).chart;
                 const el = c.getDatasetMeta(0).data.find(p => p.$context && p.$context.raw.x === ts);
                 return el ? {x: el.x, y: el.y} : null }""",
            [CPU_KEY, point["x"]],
        )
    )
    lines = dashboard.wait(
        """(k) => { const t = window.hostpulse.charts.get(k).chart.tooltip;
                   const body = (t.body || []).flatMap(b => b.lines);
                   return body.some(l => l.includes('anomaly, expected')) && body }""",
        CPU_KEY,
    )
    assert any(line.startswith("Value: 99.0 % (anomaly, expected ") for line in lines), lines
    assert dashboard.errors == []


def test_the_axis_follows_the_data_not_a_band_of_a_bursty_rate(
    dashboard: Dashboard, feeder: Feeder
) -> None:
    """A rate jumping between 0 and 1 MB/s: the detector's band (log scale, mapped back) reaches
    far past any value seen; the axis stays in the data's range and the band is still charted."""
    key = f"host:{HOST}:net.rx_bytes_per_s"
    end = now_ms() - 5000
    ts = [end - 1000 * (89 - i) for i in range(90)]

    def bursty(ts: list[int], start: int = 0) -> list[dict[str, Any]]:
        return [series("net.rx_bytes_per_s", ts, [1e6 * ((start + i) % 2) for i in range(len(ts))],
                       "B/s", {"iface": "eth0"})]

    feeder.post(HOST, bursty(ts))
    dashboard.open(f"#/host/{HOST}")
    dashboard.wait("(k) => { const c = window.hostpulse.charts.get(k); return c && c.renders > 0 }", key)
    banded = """(k) => { const c = window.hostpulse.charts.get(k);
                         return c.entries[0].buffer.hasBand && c.chart.data.datasets.some(d => d.band === 'high') }"""
    for i in range(30):
        feeder.post(HOST, bursty([now_ms()], i))
        try:
            dashboard.wait(banded, key, timeout=500)
            break
        except PlaywrightTimeout:
            pass
    dashboard.wait(f"(k) => ({banded})(k) && window.hostpulse.charts.get(k).renders > 1", key)
    view = dashboard.evaluate(
        """(k) => { const c = window.hostpulse.charts.get(k);
                    const high = c.entries[0].buffer.high.map(p => p.y).filter(Number.isFinite);
                    return {axisMax: c.chart.scales.y0.max, axisMin: c.chart.scales.y0.min,
                            bandMax: Math.max(...high)} }""",
        key,
    )
    assert view["bandMax"] > 1e8, view  # the premise: the band reaches far past the data
    assert 1e6 <= view["axisMax"] <= 2e6, view
    assert view["axisMin"] == 0, view
    assert dashboard.errors == []


def test_every_y_tick_label_fits_beside_the_chart(dashboard: Dashboard, feeder: Feeder) -> None:
    """The widest label ("100%") is measured too, so none is cut at the canvas' left edge: the
    canvas' first pixel columns hold no ink (grid lines start at the chart area, further in)."""
    open_host(dashboard, feeder)
    cut = dashboard.evaluate(
        """() => [...window.hostpulse.charts.values()].filter(c => c.renders > 0).map(c => {
             const chart = c.chart, ratio = chart.currentDevicePixelRatio;
             const height = Math.round(chart.height * ratio);
             const data = chart.ctx.getImageData(0, 0, 2, height).data;
             let ink = 0;
             for (let i = 3; i < data.length; i += 4) if (data[i] > 0) ink++;
             return {chart: c.key, ink, left: chart.chartArea.left};
           })"""
    )
    assert cut, "no charts drawn"
    assert [c for c in cut if c["ink"]] == [], cut


def test_a_gap_in_the_data_is_a_gap_in_the_line(dashboard: Dashboard, feeder: Feeder) -> None:
    """Two minutes with no samples (the host was down) break the line; they are not bridged."""
    end = now_ms() - 1000
    before = [end - 1000 * i for i in range(240, 180, -1)]
    after = [end - 1000 * i for i in range(60, 0, -1)]
    feeder.post(HOST, host_series(before + after))
    dashboard.open(f"#/host/{HOST}")
    # Once the history is drawn, each line is drawn as two runs: before the gap and after it.
    runs = dashboard.wait(
        """(k) => { const c = window.hostpulse.charts.get(k);
                    if (!c || c.entries.some(e => e.buffer.data.length < 120)) return null;
                    const lines = c.chart.data.datasets.map((d, i) =>
                      c.chart.getDatasetMeta(i).dataset.segments.map(s => [d.data[s.start].x, d.data[s.end].x]));
                    return lines.length === 2 && lines.every(l => l.length === 2) && lines }""",
        CPU_KEY,
    )
    for line in runs:
        assert line == [[before[0], before[-1]], [after[0], after[-1]]], (line, before, after)
    assert dashboard.errors == []


def test_byte_axes_tick_at_round_binary_steps(dashboard: Dashboard, feeder: Feeder) -> None:
    """2 GiB of memory in use: 512 MiB steps, not decimal ones that read 1.86 GiB and 0.93 GiB."""
    open_host(dashboard, feeder)
    key = f"host:{HOST}:mem.used"
    labels = dashboard.wait(
        # Once the posted points are drawn: before, the empty chart has a 0-1 B axis of its own.
        """(k) => { const c = window.hostpulse.charts.get(k);
                    return c && c.chart.scales.y0.max >= 2 ** 31 &&
                           c.chart.scales.y0.ticks.map(t => t.label) }""",
        key,
    )
    assert labels == ["0 B", "512 MiB", "1 GiB", "1.5 GiB", "2 GiB", "2.5 GiB"], labels
    assert dashboard.errors == []
