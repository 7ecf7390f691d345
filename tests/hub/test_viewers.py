"""Viewer credentials when the hub listens beyond loopback: no data without a viewer token,
whether asked over HTTP, by a browser session or over the WebSocket."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets
from websockets.exceptions import WebSocketException

from tests.hub.test_ingest_api import assert_error, cpu_series
from tests.support.hub_process import LiveHub, free_port, run_cli, start_hub


@pytest.fixture
def exposed_hub(tmp_path: Path) -> Iterator[LiveHub]:
    """A hub bound to every interface (reached here over loopback only)."""
    port = free_port()
    hub = start_hub(tmp_path, port=port, extra_args=("--bind", f"0.0.0.0:{port}"))
    try:
        yield hub
    finally:
        hub.stop()


def viewer_token(hub: LiveHub, name: str = "alice") -> str:
    return (
        run_cli("token", "create", name, "--viewer", "--db", hub.db).stdout.strip().splitlines()[-1]
    )


def test_read_api_and_metrics_need_a_viewer_token(exposed_hub: LiveHub) -> None:
    assert (
        exposed_hub.post_batch("web-1", cpu_series([1.0])).status_code == 200
    )  # agents use their own
    for path in ("/api/v1/hosts", "/api/v1/series", "/api/v1/anomalies", "/metrics"):
        assert_error(exposed_hub.get(path), 401, "viewer_required")
    # An agent token is not a viewer token.
    agent = {"Authorization": f"Bearer {exposed_hub.token('web-1')}"}
    assert_error(
        httpx.get(f"{exposed_hub.url}/api/v1/hosts", headers=agent), 401, "viewer_required"
    )
    viewer = {"Authorization": f"Bearer {viewer_token(exposed_hub)}"}
    hosts = httpx.get(f"{exposed_hub.url}/api/v1/hosts", headers=viewer).json()["hosts"]
    assert [h["name"] for h in hosts] == ["web-1"]
    assert exposed_hub.get("/healthz").status_code == 200  # liveness stays open


def test_browser_login_sets_a_strict_httponly_cookie(exposed_hub: LiveHub) -> None:
    with httpx.Client(base_url=exposed_hub.url) as browser:
        page = browser.get("/")
        assert page.status_code == 302 and page.headers["location"] == "/login"
        refused = browser.post("/login", data={"token": "hpv_wrong"})
        assert refused.status_code == 401 and "unknown or revoked" in refused.text
        answer = browser.post("/login", data={"token": viewer_token(exposed_hub)})
        assert answer.status_code == 302 and answer.headers["location"] == "/"
        cookie = answer.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        assert browser.get("/api/v1/hosts").status_code == 200
        assert browser.get("/").status_code in (200, 503)  # the page itself (503 if not built)


def test_revoked_viewer_token_is_refused_at_once(exposed_hub: LiveHub) -> None:
    headers = {"Authorization": f"Bearer {viewer_token(exposed_hub, 'bob')}"}
    assert httpx.get(f"{exposed_hub.url}/api/v1/hosts", headers=headers).status_code == 200
    run_cli("token", "revoke", "bob", "--viewer", "--db", exposed_hub.db)
    assert_error(
        httpx.get(f"{exposed_hub.url}/api/v1/hosts", headers=headers), 401, "viewer_required"
    )


async def test_websocket_needs_a_viewer_token(exposed_hub: LiveHub) -> None:
    with pytest.raises(WebSocketException):
        async with websockets.connect(exposed_hub.ws_url) as ws:
            await asyncio.wait_for(ws.recv(), 5)
    token = await asyncio.to_thread(viewer_token, exposed_hub)
    async with websockets.connect(
        exposed_hub.ws_url, additional_headers={"Authorization": f"Bearer {token}"}
    ) as ws:
        await ws.send(json.dumps({"type": "subscribe"}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "subscribed"


def test_loopback_hub_asks_nothing(live_hub: LiveHub) -> None:
    assert live_hub.get("/api/v1/hosts").status_code == 200
