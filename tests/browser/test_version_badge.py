"""Version skew in a real browser: a host whose agent is older than the hub gets a badge with the
one-line upgrade command, on its overview card and its page; a current agent gets none."""

from __future__ import annotations

import time

import httpx
import pytest

from hostpulse import __version__
from tests.browser.conftest import Dashboard, series
from tests.support.hub_process import LiveHub, make_batch

pytestmark = pytest.mark.browser


def post_as(hub: LiveHub, host: str, agent_version: str) -> None:
    batch = make_batch(host, [series("cpu.percent", [int(time.time() * 1000)], [5.0], "%")])
    batch["agent"] = {"version": agent_version}
    answer = httpx.post(f"{hub.url}/api/v1/ingest", json=batch,
                        headers={"Authorization": f"Bearer {hub.token(host)}"}, timeout=30)
    assert answer.status_code == 200, answer.text  # an older agent keeps working


def test_an_older_agent_is_marked_with_the_upgrade_command(dashboard: Dashboard, live_hub: LiveHub) -> None:
    post_as(live_hub, "old-agent", "0.0.1")
    post_as(live_hub, "current-agent", __version__)
    post_as(live_hub, "odd-agent", "test")  # not a version: nothing to compare, no badge
    dashboard.open()
    card = 'article.host-card[data-host="{}"] .version-badge'.format
    old = dashboard.page.locator(card("old-agent"))
    old.wait_for(state="visible")
    assert old.inner_text() == "agent 0.0.1"
    upgrade = f"curl -fsSL {live_hub.url}/install.sh | sudo sh"
    assert old.get_attribute("data-command") == upgrade
    assert f"older than the hub's {__version__}" in (old.get_attribute("title") or "")
    for name in ("current-agent", "odd-agent"):
        dashboard.page.locator(f'article.host-card[data-host="{name}"] .state').wait_for()
        assert dashboard.page.locator(card(name)).is_hidden(), name
    dashboard.open("#/host/old-agent")
    head = dashboard.page.locator('.host-head[data-host="old-agent"] .version-badge')
    head.wait_for(state="visible")
    assert head.get_attribute("data-command") == upgrade
    assert dashboard.errors == []
