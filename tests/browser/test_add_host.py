"""The "Add host" dialog in a real browser: an admin signed in with a viewer token names a host and
its labels, gets the host's token and install command; a viewer who is no admin, and a hub with no
admins, are refused with the reason shown."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.hub_process import LiveHub, run_cli, start_hub

pytestmark = pytest.mark.browser


@pytest.fixture
def admin_hub(tmp_path: Path) -> Iterator[LiveHub]:
    hub = start_hub(tmp_path, env={"HOSTPULSE_VIEWER_AUTH": "on", "HOSTPULSE_ADMINS": "alice"})
    try:
        yield hub
    finally:
        hub.stop()


def viewer_token(hub: LiveHub, name: str) -> str:
    return run_cli("token", "create", name, "--viewer", "--db", hub.db).stdout.strip().splitlines()[-1]


def signed_in(browser: Any, hub: LiveHub, name: str) -> Any:
    """A page signed in through the hub's own /login form, as a user would."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{hub.url}/login")
    page.fill("#token", viewer_token(hub, name))
    with page.expect_navigation():
        page.click("button[type=submit]")
    page.goto(f"{hub.url}/#/")
    page.wait_for_selector(".add-host-open")
    return page


def add(page: Any, name: str, labels: str) -> None:
    page.click(".add-host-open")
    page.fill(".add-host input[name=name]", name)
    page.fill(".add-host input[name=labels]", labels)
    page.click(".add-host button[type=submit]")


def test_an_admin_gets_the_token_and_the_install_command(browser: Any, admin_hub: LiveHub) -> None:
    page = signed_in(browser, admin_hub, "alice")
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    add(page, "db-7", "env=prod, team=data")
    command = page.locator(".add-host-command")
    command.wait_for(state="visible")
    text = command.inner_text()
    assert text.startswith(f"curl -fsSL {admin_hub.url}/install.sh | sudo sh -s -- --token hp_"), text
    token = text.rsplit(" ", 1)[1]
    # The token is real: the hub takes it for db-7, and db-7 carries the labels.
    whoami = httpx.get(f"{admin_hub.url}/api/v1/install/whoami", headers={"Authorization": f"Bearer {token}"})
    assert whoami.json()["host"] == "db-7"
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    hosts = httpx.get(f"{admin_hub.url}/api/v1/hosts", cookies=cookies).json()["hosts"]
    assert {h["name"]: h["labels"] for h in hosts}["db-7"] == {"env": "prod", "team": "data"}
    page.click(".add-host-close")
    add(page, "x", "no-equals")
    error = page.locator(".add-host-error")
    error.wait_for(state="visible")
    assert error.inner_text() == '"no-equals" is not KEY=VALUE'
    assert errors == []
    page.context.close()


def test_a_viewer_who_is_no_admin_is_told_why(browser: Any, admin_hub: LiveHub) -> None:
    page = signed_in(browser, admin_hub, "bob")
    add(page, "db-8", "")
    error = page.locator(".add-host-error")
    error.wait_for(state="visible")
    assert error.inner_text() == "viewer 'bob' is not one of the hub's admins"
    assert page.locator(".add-host-result").is_hidden()
    page.context.close()


def test_a_hub_without_admins_refuses_and_names_the_cli(live_hub: LiveHub) -> None:
    answer = httpx.post(f"{live_hub.url}/api/v1/install/hosts", json={"name": "x"}, timeout=10)
    assert answer.status_code == 403 and answer.json()["error"]["code"] == "admin_required"
    assert "hostpulse host add NAME" in answer.json()["error"]["message"]
