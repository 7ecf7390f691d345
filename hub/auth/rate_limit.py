"""The per-token rate limit of ingest: a token bucket per host."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from hostpulse.hub.errors import RateLimited


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
