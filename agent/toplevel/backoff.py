"""Reconnect backoff, one rule for every retry loop: the agent's sender, the hub's Redis bus and
its token-cache listener.

Exponential with jitter: each step doubles up to ``cap``; the delay is half the step fixed and half
random, so many agents (or hubs) that lost the same peer at the same moment do not return to it in
step. A ``Retry-After`` the peer sent wins when it is longer.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass
class Backoff:
    """Delays for successive retries; ``reset()`` once a retry succeeds."""

    base: float = 0.5
    cap: float = 15.0
    attempt: int = 0

    def next(self, retry_after: float | None = None) -> float:
        """The delay before the next retry, in seconds."""
        step: float = min(self.cap, self.base * 2**self.attempt)  # int ** int is Any to mypy
        self.attempt += 1
        delay = step / 2 + random.uniform(0, step / 2)
        return max(delay, retry_after) if retry_after is not None else delay

    @property
    def failing(self) -> bool:
        """True between a first failure and the next ``reset()``: log an outage once, not per retry."""
        return self.attempt > 0

    def reset(self) -> None:
        self.attempt = 0
