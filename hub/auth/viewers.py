"""Who may look: when the hub listens beyond loopback, the dashboard, the read API, /metrics and
the WebSocket need a viewer token — as ``Authorization: Bearer`` from tools, or as the HttpOnly,
SameSite=Strict cookie that ``/login`` sets for browsers. On loopback only, nobody else can
connect, so nothing is asked (``viewer_auth = "auto"``; ``"on"``/``"off"`` force it)."""

from __future__ import annotations

import html
from collections.abc import Mapping
from urllib.parse import urlsplit

from quart import Blueprint, Quart, Response, redirect, request, websocket
from quart_schema import hide
from werkzeug.datastructures import Headers
from werkzeug.wrappers.response import Response as WerkzeugResponse

from hostpulse.hub.auth.hashing import hash_token, new_token
from hostpulse.hub.auth.viewer_tokens import viewer_for_token
from hostpulse.hub.errors import Forbidden, Unauthorized
from hostpulse.hub.settings import Settings
from hostpulse.hub.state import hub_state
from hostpulse.hub.storage.models import ViewerToken
from hostpulse.wire import now_ms

COOKIE = "hostpulse_viewer"
COOKIE_MAX_AGE_S = 30 * 86400
#: A browser session: what /login puts in the cookie instead of the viewer token itself. It is a
#: viewer-token row of the same name, so revoking the viewer revokes its sessions, and /logout
#: revokes the session alone, server-side: a copied cookie stops working too.
SESSION_PREFIX = "hps_"
#: Methods that change something; a browser page of another site must not send them here.
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")

blueprint = Blueprint("viewers", __name__)


def viewers_required(settings: Settings) -> bool:
    if settings.viewer_auth in ("on", "off"):
        return settings.viewer_auth == "on"
    return not _loopback_bind(settings)


def _loopback_bind(settings: Settings) -> bool:
    host = settings.bind.rpartition(":")[0].strip("[]").lower()
    return host == "localhost" or host == "::1" or host.startswith("127.")


def _presented(headers: Headers | Mapping[str, str], cookies: Mapping[str, str]) -> str | None:
    scheme, _, token = headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return cookies.get(COOKIE) or None


def presented_token(*, ws: bool = False) -> str | None:
    """The viewer token (or session) this request or WebSocket upgrade carries, if any."""
    source = websocket if ws else request
    return _presented(source.headers, source.cookies)


async def viewer_for(token: str) -> ViewerToken | None:
    """The live viewer a token or a session stands for; a session lives COOKIE_MAX_AGE_S."""
    row = await viewer_for_token(token)
    expired = row is not None and row.created_at < now_ms() - COOKIE_MAX_AGE_S * 1000
    return None if expired and token.startswith(SESSION_PREFIX) else row


async def is_viewer(*, ws: bool = False) -> bool:
    """Whether this request (or WebSocket upgrade) may see the data."""
    if not viewers_required(hub_state().settings):
        return True
    token = presented_token(ws=ws)
    return token is not None and await viewer_for(token) is not None


def same_origin(headers: Headers | Mapping[str, str]) -> bool:
    """Whether a browser sent this from one of the hub's own pages. Browsers send Origin on
    WebSocket upgrades and on POSTs (and Sec-Fetch-Site, where Origin is left out); clients that
    are not browsers send neither and are let through: a token covers them.

    ``Origin: null`` says nothing of where a request came from (Chromium sends it for a form
    submitted under a no-referrer policy, and a sandboxed frame sends it too), so Sec-Fetch-Site
    decides then: Chromium's own submit of /login was refused 403 before this."""
    origin = headers.get("Origin")
    if origin and origin != "null":
        return urlsplit(origin).netloc.lower() == headers.get("Host", "").lower()
    fetch_site = headers.get("Sec-Fetch-Site")
    if origin == "null":
        return fetch_site in ("same-origin", "none")
    return (fetch_site or "same-origin") in ("same-origin", "none")


def host_allowed(settings: Settings, host_header: str) -> bool:
    """On loopback without viewer tokens the hub must be asked for by a loopback name: a page of
    another site whose name was re-pointed at 127.0.0.1 (DNS rebinding) sends its own name as
    Host, and would otherwise read everything a local user can."""
    if viewers_required(settings) or not _loopback_bind(settings):
        return True
    port = settings.bind.rpartition(":")[2]
    return host_header.lower() in {f"{name}:{port}" for name in LOOPBACK_NAMES}


def install_request_guards(app: Quart) -> None:
    """Host on a loopback hub without tokens, Origin for every state-changing request and every
    WebSocket upgrade: each a 403 before any handler runs."""

    @app.before_request
    async def guard_request() -> None:
        settings = hub_state().settings
        if not host_allowed(settings, request.headers.get("Host", "")):
            raise Forbidden(
                f"this hub answers to {', '.join(LOOPBACK_NAMES)} on its port, "
                f"not to Host {request.headers.get('Host', '')!r}",
                code="host_not_allowed",
            )
        if request.method in STATE_CHANGING and not same_origin(request.headers):
            raise Forbidden(
                f"a request from another site ({request.headers.get('Origin')}) is refused",
                code="cross_origin",
            )

    @app.before_websocket
    async def guard_websocket() -> None:
        settings = hub_state().settings
        if not host_allowed(settings, websocket.headers.get("Host", "")):
            raise Forbidden("WebSocket for another Host refused", code="host_not_allowed")
        if not same_origin(websocket.headers):
            raise Forbidden("cross-origin WebSocket refused", code="cross_origin")


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
async def login() -> Response | WerkzeugResponse:  # redirect() is typed as werkzeug's
    form = await request.form
    token = (form.get("token") or "").strip()
    viewer = await viewer_for(token) if token else None
    if viewer is None:
        return _page("That token is unknown or revoked.", status=401)
    session = new_token(SESSION_PREFIX)
    await ViewerToken.create(name=viewer.name, token_hash=hash_token(session), created_at=now_ms())
    response = redirect("/")
    response.set_cookie(
        COOKIE,
        session,
        max_age=COOKIE_MAX_AGE_S,
        httponly=True,
        samesite="Strict",
        secure=bool(hub_state().settings.certfile),
        path="/",
    )
    return response


@blueprint.post("/logout")
@hide
async def logout() -> WerkzeugResponse:
    session = request.cookies.get(COOKIE, "")
    if session.startswith(SESSION_PREFIX):  # never a viewer token itself: others may share it
        await ViewerToken.filter(token_hash=hash_token(session), revoked_at=None).update(
            revoked_at=now_ms()
        )
    response = redirect("/login")
    response.delete_cookie(COOKIE, path="/")
    return response
