"""The /login form in a real browser: Chromium's own submit of the hub's form signs in, and the same
form on another site's page is refused (the Origin check is a CSRF guard, not a wall for the hub's
own page). Chromium once sent "Origin: null" for the hub's own form under a no-referrer policy, and
every browser login answered 403 cross_origin."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.support.hub_process import LiveHub, run_cli, start_hub

pytestmark = pytest.mark.browser


@pytest.fixture
def viewer_hub(tmp_path: Path) -> Iterator[LiveHub]:
    hub = start_hub(tmp_path, env={"HOSTPULSE_VIEWER_AUTH": "on"})
    try:
        yield hub
    finally:
        hub.stop()


def viewer_token(hub: LiveHub) -> str:
    return run_cli("token", "create", "carol", "--viewer", "--db", hub.db).stdout.strip().splitlines()[-1]


def test_the_login_form_signs_a_browser_in(browser: Any, viewer_hub: LiveHub) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{viewer_hub.url}/login")
    page.fill("#token", viewer_token(viewer_hub))
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert page.url.rstrip("/") == viewer_hub.url.rstrip("/"), page.content()[:300]
    assert any(cookie["name"] for cookie in context.cookies()), "no session cookie set"
    # Signed in: the API answers with the session cookie alone.
    answer = page.evaluate("fetch('/api/v1/hosts').then(r => r.status)")
    assert answer == 200
    context.close()


@pytest.fixture
def other_site(viewer_hub: LiveHub) -> Iterator[str]:
    """A page of another origin whose form posts a token to the hub's /login."""
    form = (
        f'<form method="post" action="{viewer_hub.url}/login"><input name="token" value="x">'
        '<button type="submit">go</button></form>'
    ).encode()

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(form)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()


def test_the_same_form_on_another_site_is_refused(browser: Any, viewer_hub: LiveHub, other_site: str) -> None:
    page = browser.new_page()
    page.goto(other_site)
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert "cross_origin" in page.content()
    page.close()
