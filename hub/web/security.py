"""Response headers every page carries."""

from __future__ import annotations

from quart import Quart, Response, request

HSTS_MAX_AGE_S = 365 * 86400

# No inline script anywhere in the dashboard; styles may be set inline by Chart.js.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
# quart-schema's Swagger page boots with an inline script; it shows the API description only.
DOCS_CSP = CSP.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'")


def install_security_headers(app: Quart, *, tls: bool) -> None:
    """Headers on every response; ``tls``: the hub serves TLS only, so browsers may insist on it."""

    @app.after_request
    async def add_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", DOCS_CSP if request.path == "/docs" else CSP)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        # same-origin, not no-referrer: the hub's own pages still send their Origin on a form POST
        # (under no-referrer Chromium sends "Origin: null"), and other sites learn nothing.
        headers.setdefault("Referrer-Policy", "same-origin")
        if tls:
            headers.setdefault("Strict-Transport-Security", f"max-age={HSTS_MAX_AGE_S}")
        return response
