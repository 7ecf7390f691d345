"""The clock warning in a real browser: a badge on the overview card and the host page of a host
whose agent clock is off by more than the hub's clock_warn_s, and none on the others."""

from __future__ import annotations

import time
from email.utils import formatdate

import httpx
import pytest

from tests.browser.conftest import Dashboard, series
from tests.support.hub_process import LiveHub, make_batch

pytestmark = pytest.mark.browser
HOUR_S = 3600


def post_dated(hub: LiveHub, host: str, *, ts_off_s: float, clock_off_s: float) -> httpx.Response:
    """A CPU sample ``ts_off_s`` from now, with a Date header from a clock ``clock_off_s`` off."""
    headers = {"Authorization": f"Bearer {hub.token(host)}"}
    now = time.time()
    headers["Date"] = formatdate(now + clock_off_s, usegmt=True)
    batch = make_batch(host, [series("cpu.percent", [int((now + ts_off_s) * 1000)], [5.0], "%")])
    return httpx.post(f"{hub.url}/api/v1/ingest", json=batch, headers=headers, timeout=30)


def badge(dashboard: Dashboard, scope: str):  # type: ignore[no-untyped-def]
    return dashboard.page.locator(f"{scope} .clock-badge")


def test_the_badge_shows_for_a_skewed_host_and_not_for_a_good_one(
    dashboard: Dashboard, live_hub: LiveHub
) -> None:
    assert post_dated(live_hub, "lagging", ts_off_s=0, clock_off_s=-HOUR_S).status_code == 200
    rushing = post_dated(live_hub, "rushing", ts_off_s=HOUR_S, clock_off_s=HOUR_S)
    assert rushing.status_code == 400  # refused, and measured all the same
    assert post_dated(live_hub, "punctual", ts_off_s=0, clock_off_s=0).status_code == 200
    assert post_dated(live_hub, "a-bit-off", ts_off_s=0, clock_off_s=-10).status_code == 200

    dashboard.open()
    card = 'article.host-card[data-host="{}"]'.format
    lagging = badge(dashboard, card("lagging"))
    lagging.wait_for(state="visible")
    assert lagging.inner_text() == "clock 1 h behind"
    title = lagging.get_attribute("title") or ""
    assert "s behind the hub's" in title and "warning above 30 s" in title, title
    rushing_badge = badge(dashboard, card("rushing"))
    rushing_badge.wait_for(state="visible")
    assert rushing_badge.inner_text() == "clock 1 h ahead"
    assert "s ahead of the hub's" in (rushing_badge.get_attribute("title") or "")
    for name in ("punctual", "a-bit-off"):
        dashboard.page.locator(card(name)).wait_for()
        assert badge(dashboard, card(name)).is_hidden(), name

    dashboard.open("#/host/lagging")
    head = badge(dashboard, '.host-head[data-host="lagging"]')
    head.wait_for(state="visible")
    assert head.inner_text() == "clock 1 h behind"
    dashboard.open("#/host/punctual")
    dashboard.page.locator('.host-head[data-host="punctual"] .state').wait_for()
    dashboard.wait("() => window.hostpulse.hosts.hosts.get('punctual')?.clockOffsetS !== null")
    assert badge(dashboard, '.host-head[data-host="punctual"]').is_hidden()
    assert dashboard.errors == []
