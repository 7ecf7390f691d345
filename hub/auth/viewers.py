"""Who may look: when the hub listens beyond loopback, the dashboard, the read API, /metrics and
the WebSocket need a viewer token — as ``Authorization: Bearer`` from tools, or as the HttpOnly,
SameSite=Strict cookie that ``/login`` sets for browsers. On loopback only, nobody else can
connect, so nothing is asked (``viewer_auth = "auto"``; ``"on"``/``"off"`` force it)."""

from __future__ import annotations

import html

from quart import Blueprint, Response, redirect, request, websocket
from quart_schema import hide

from hostpulse.hub.auth.tokens import viewer_for_token
from hostpulse.hub.errors import Unauthorized
from hostpulse.hub.settings import Settings
from hostpulse.hub.state import hub_state

COOKIE = "hostpulse_viewer"
COOKIE_MAX_AGE_S = 30 * 86400

blueprint = Blueprint("viewers", __name__)


def viewers_required(settings: Settings) -> bool:
    if settings.viewer_auth in ("on", "off"):
        return settings.viewer_auth == "on"
    host = settings.bind.rpartition(":")[0].strip("[]").lower()
    return not (host == "localhost" or host == "::1" or host.startswith("127."))


def _presented(headers, cookies) -> str | None:  # type: ignore[no-untyped-def]
    scheme, _, token = headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return cookies.get(COOKIE) or None


async def is_viewer(*, ws: bool = False) -> bool:
    """Whether this request (or WebSocket upgrade) may see the data."""
    if not viewers_required(hub_state().settings):
        return True
    source = websocket if ws else request
    token = _presented(source.headers, source.cookies)
    return token is not None and await viewer_for_token(token) is not None


async def require_viewer() -> None:
    if not await is_viewer():
        raise Unauthorized(
            "a viewer token is required: log in at /login or send Authorization: Bearer",
            code="viewer_required",
        )


_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>HostPulse — log in</title>
<style>body{{font:16px system-ui,sans-serif;max-width:24rem;margin:15vh auto;padding:0 1rem}}
input,button{{font:inherit;width:100%;padding:.5rem;margin:.25rem 0;box-sizing:border-box}}
.error{{color:#b91c1c}}</style></head><body><h1>HostPulse</h1>{message}
<form method="post" action="/login"><label for="token">Viewer token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<button type="submit">Log in</button></form>
<p><small>An administrator creates one with <code>hostpulse token create NAME --viewer</code>.</small></p>
</body></html>"""


def _page(message: str = "", status: int = 200) -> Response:
    body = _PAGE.format(message=f'<p class="error">{html.escape(message)}</p>' if message else "")
    return Response(body, status=status, content_type="text/html; charset=utf-8")


@blueprint.get("/login")
@hide  # an HTML form for browsers, not part of the JSON API
async def login_form() -> Response:
    return _page()


@blueprint.post("/login")
@hide
async def login() -> Response:
    form = await request.form
    token = (form.get("token") or "").strip()
    if not token or await viewer_for_token(token) is None:
        return _page("That token is unknown or revoked.", status=401)
    response = redirect("/")
    response.set_cookie(
        COOKIE,
        token,
        max_age=COOKIE_MAX_AGE_S,
        httponly=True,
        samesite="Strict",
        secure=bool(hub_state().settings.certfile),
        path="/",
    )
    return response


@blueprint.post("/logout")
@hide
async def logout() -> Response:
    response = redirect("/login")
    response.delete_cookie(COOKIE, path="/")
    return response
