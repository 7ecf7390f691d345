"""Response headers every page carries, and the per-token rate limit of ingest."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from quart import Quart, Response, request

from hostpulse.hub.errors import HubError

HSTS_MAX_AGE_S = 365 * 86400

# No inline script anywhere in the dashboard; styles may be set inline by Chart.js.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
# quart-schema's Swagger page boots with an inline script; it shows the API description only.
DOCS_CSP = CSP.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'")


def install_security_headers(app: Quart) -> None:
    @app.after_request
    async def add_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", DOCS_CSP if request.path == "/docs" else CSP)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "no-referrer")
        from hostpulse.hub.state import hub_state  # the state module imports this one

        if hub_state().settings.certfile:  # a hub on TLS serves TLS only: browsers may insist
            headers.setdefault("Strict-Transport-Security", f"max-age={HSTS_MAX_AGE_S}")
        return response


class RateLimited(HubError):
    status, code = 429, "rate_limited"


@dataclass(slots=True)
class TokenBucket:
    """``rate`` requests per second with bursts of ``burst``, per key (the agent's token hash)."""

    rate: float
    burst: float
    _buckets: dict[object, tuple[float, float]] = field(default_factory=dict)

    def take(self, key: object, now: float | None = None) -> None:
        """Spend one request of ``key``'s allowance, or raise RateLimited with a Retry-After."""
        if self.rate <= 0:
            return
        now = time.monotonic() if now is None else now
        tokens, last = self._buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            wait = math.ceil((1.0 - tokens) / self.rate)
            raise RateLimited(
                f"more than {self.rate:g} requests per second for this token",
                headers={"Retry-After": str(wait)},
            )
        self._buckets[key] = (tokens - 1.0, now)
