"""Agent clocks: how far each host's clock is from the hub's, read off its ingest requests.

Agents send a standard HTTP ``Date`` header (IMF-fixdate, whole seconds) stamped by their own
clock when they send a batch. Once the token is authenticated — so also for a batch then refused
as out of range, the usual symptom of a clock running ahead — the hub compares it with its own
clock: ``offset = agent clock - hub clock``. The date is truncated to the second, so the middle
of that second is taken, and the estimate is within about ±0.5 s plus the request's transit time.
A request without a parseable Date (older agents, curl) changes nothing.

The latest offset of each host is kept in memory and written to ``hosts.clock_offset_ms`` /
``clock_checked_at`` at most once a minute per host, or sooner when it moved by more than a
second: ingest runs at hundreds of requests per second and gets no database round trip from this.
The write happens in a background task, off the request's path.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime

from quart import current_app

from hostpulse.hub.storage.models import Host

log = logging.getLogger(__name__)

#: A host's offset is written again after this long, or when it moved by more than SAVE_CHANGE_MS.
SAVE_EVERY_MS = 60_000
SAVE_CHANGE_MS = 1_000


def offset_from_date(header: str | None, hub_ms: int) -> int | None:
    """``agent clock - hub clock`` in ms from a request's Date header; None if missing or bad."""
    if not header:
        return None
    try:
        sent = parsedate_to_datetime(header)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if sent.tzinfo is None:  # "-0000": UTC, local zone unknown (RFC 5322 §3.3)
        sent = sent.replace(tzinfo=UTC)
    try:
        sent_ms = int(sent.timestamp()) * 1000
    except (OverflowError, OSError, ValueError):
        return None
    return sent_ms + 500 - hub_ms  # the agent sent it somewhere within that second


def describe(offset_ms: int) -> str:
    """``the agent's clock is 3600 s ahead of the hub's``; for error messages and logs."""
    seconds = round(offset_ms / 1000)
    if abs(offset_ms) <= SAVE_CHANGE_MS:
        return "the agent's clock agrees with the hub's within 1 s"
    return f"the agent's clock is {abs(seconds)} s {'ahead of' if seconds > 0 else 'behind'} the hub's"


@dataclass(slots=True)
class Reading:
    host: str
    offset_ms: int
    checked_at: int  # the hub's clock, epoch ms
    saved_offset_ms: int | None = None
    saved_at: int = 0
    saving: bool = False


class ClockOffsets:
    """The latest clock offset of every host this hub has heard from since it started."""

    def __init__(self) -> None:
        self.readings: dict[int, Reading] = {}

    def observe(self, host: Host, date_header: str | None, hub_ms: int) -> Reading | None:
        """Record the offset of one request; schedules the database write when one is due.
        Returns the host's latest reading (this one, or an earlier one if the header was bad)."""
        offset = offset_from_date(date_header, hub_ms)
        reading = self.readings.get(host.id)
        if offset is None:
            return reading
        if reading is None:
            reading = self.readings[host.id] = Reading(host.name, offset, hub_ms)
        else:
            reading.offset_ms, reading.checked_at = offset, hub_ms
        if not reading.saving and (
            reading.saved_offset_ms is None
            or abs(offset - reading.saved_offset_ms) > SAVE_CHANGE_MS
            or hub_ms - reading.saved_at >= SAVE_EVERY_MS
        ):
            reading.saving = True
            current_app.add_background_task(self._save, host.id, reading)
        return reading

    async def _save(self, host_id: int, reading: Reading) -> None:
        offset, checked = reading.offset_ms, reading.checked_at
        try:
            await Host.filter(id=host_id).update(clock_offset_ms=offset, clock_checked_at=checked)
        except Exception as exc:  # noqa: BLE001 - a best-effort note; the next minute tries again
            log.warning("could not record the clock offset of %s: %s", reading.host, exc)
        else:
            reading.saved_offset_ms = offset
        finally:
            reading.saved_at = checked
            reading.saving = False

    def latest(self, host: Host) -> tuple[int, int] | None:
        """(offset ms, checked at) for ``host``: this hub's reading or the stored one, the newer."""
        reading = self.readings.get(host.id)
        stored = host.clock_checked_at
        if reading is not None and (stored is None or reading.checked_at >= stored):
            return reading.offset_ms, reading.checked_at
        if stored is None or host.clock_offset_ms is None:
            return None
        return host.clock_offset_ms, stored

