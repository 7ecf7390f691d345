"""Per-second rates from cumulative counters, the way every counter-reading source needs them.

The hub stores gauges, so a source that reads a counter (bytes sent, reads completed) keeps the
previous reading here and emits ``(now - before) / elapsed`` from its second collection on.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Mapping


class Rates:
    """Remembers the last reading of each counter and turns the next one into a rate.

    Call :meth:`tick` once per collection, right before reading the counters, then :meth:`rate`
    for each counter. Counters not read in a round are forgotten, so a vanished interface or pid
    does not keep memory alive. A counter that went backwards (reset, wrap, device re-added) gives
    no rate for that round instead of a huge or negative one.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        # monotonic: a wall-clock step (NTP, DST) must not turn into a fake burst or a gap.
        self._clock = clock
        self._then: float | None = None
        self._elapsed: float | None = None
        # A key holds a float (rate) or one device's fields (rates).
        self._before: dict[Hashable, float | dict[str, float]] = {}
        self._now: dict[Hashable, float | dict[str, float]] = {}

    def tick(self) -> float | None:
        """Start a round; return the seconds since the previous round (None on the first)."""
        now = self._clock()
        self._elapsed = None if self._then is None else now - self._then
        self._then = now
        self._before, self._now = self._now, {}
        return self._elapsed

    def rate(self, key: Hashable, value: float) -> float | None:
        """Record ``value`` for ``key``; return its per-second rate, or None when there is none yet."""
        self._now[key] = value
        before = self._before.get(key)
        elapsed = self._elapsed
        if not isinstance(before, (int, float)) or elapsed is None or elapsed <= 0:
            return None
        delta = value - before
        if delta < 0:
            return None
        return round(delta / elapsed, 3)  # sub-milli precision on a rate is noise on the wire

    def rates(self, key: Hashable, values: Mapping[str, float]) -> dict[str, float] | None:
        """Like :meth:`rate` for counters read together (one device's fields): all or nothing.

        When any of them went backwards the device was reset, and the others are suspect too.
        """
        before = self._before.get(key)
        self._now[key] = now = dict(values)
        elapsed = self._elapsed
        if not isinstance(before, dict) or elapsed is None or elapsed <= 0:
            return None
        result: dict[str, float] = {}
        for field, value in now.items():
            then = before.get(field)
            if then is None or value < then:
                return None
            result[field] = round((value - then) / elapsed, 3)
        return result
