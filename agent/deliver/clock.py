"""This host's clock against the hub's, measured from the ``Date`` header of every hub answer.

The agent stamps each POST with a ``Date`` header from its own clock (the hub measures the agent
from it); the hub's answer carries the hub's ``Date``. The offset is this host's clock minus the
hub's: the moment the hub answered by this host's clock (the time the answer came, less half the
round trip as a monotonic clock measured it, so a clock stepped mid-request still gives the new
clock's offset) against the middle of the hub's (whole) second, rounded to a second — the
resolution of the header. It is published as ``agent.clock_offset_seconds`` and, past
``clock_warn_s``, logged once, again when it moves by more than ``clock_warn_s``, and at INFO when
it is back within bounds.
"""

from __future__ import annotations

import email.utils
import logging
import time
from dataclasses import dataclass

from hostpulse.agent.stats import Stats

log = logging.getLogger("hostpulse.agent.clock")


def http_date(when: float | None = None) -> str:
    """An RFC 9110 IMF-fixdate (``Tue, 15 Nov 1994 08:12:31 GMT``) of ``when`` (default: now)."""
    return email.utils.formatdate(time.time() if when is None else when, usegmt=True)


def parse_http_date(value: str | None) -> float | None:
    """Epoch seconds of an HTTP ``Date`` header, or None when it is missing or unreadable."""
    if not value:
        return None
    try:
        return email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _utc(when: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(when))


@dataclass
class ClockCheck:
    """Keeps the latest offset in ``stats`` and says when it is too large, or fine again."""

    warn_s: float
    stats: Stats
    #: The offset last warned about; None while the clock is within bounds.
    warned: float | None = None

    def observe(self, received: float, round_trip_s: float, hub_date: str | None) -> float | None:
        """Account for one hub answer, come at ``received`` (this host's clock) ``round_trip_s``
        after the request left; return the offset in seconds (None without a usable Date)."""
        hub = parse_http_date(hub_date)
        if hub is None:
            return None
        # Not the midpoint of two wall-clock readings: if the clock is stepped during the request
        # (NTP, an admin), that midpoint is neither the old offset nor the new one.
        here = received - round_trip_s / 2
        offset = float(round(here - (hub + 0.5)))
        self.stats.clock_offset_s = offset
        if abs(offset) > self.warn_s:
            if self.warned is None or abs(offset - self.warned) > self.warn_s:
                self.warned = offset
                self._warn(offset, here, here - offset)
        elif self.warned is not None:
            self.warned = None
            log.info(
                "this host's clock agrees with the hub's again (%+.0f s, within clock_warn_s = %g s)",
                offset, self.warn_s,
            )
        return offset

    def _warn(self, offset: float, here: float, hub: float) -> None:
        clocks = f"this host: {_utc(here)}, hub: {_utc(hub)}"
        if offset > 0:
            log.warning(
                "this host's clock is %.0f s ahead of the hub's (%s): its batches will be refused "
                "beyond the hub's max_future_s; set this host's clock right (NTP)", offset, clocks,
            )
        else:
            log.warning(
                "this host's clock is %.0f s behind the hub's (%s): samples are stored in the past, "
                "and refused beyond the hub's max_past_s; set this host's clock right (NTP)",
                -offset, clocks,
            )
