"""The agent's own counters: what it collected, what failed, what it dropped, what it sent.

One ``Stats`` per running agent; the ``agent`` source (agent/selfmetrics.py) turns it into series.
Log lines about a misbehaving source are rate limited here too, so a source failing every second
does not flood the journal while every failure is still counted.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field

log = logging.getLogger("hostpulse.agent")

#: Seconds between two log lines about the same (source, kind) of error.
LOG_EVERY = 60.0


@dataclass
class Stats:
    """Counters since the agent started; every field is read by the ``agent`` source."""

    started: float = field(default_factory=time.time)
    errors: Counter[tuple[str, str]] = field(default_factory=Counter)
    dropped: Counter[str] = field(default_factory=Counter)
    samples: Counter[str] = field(default_factory=Counter)
    collect_seconds: dict[str, float] = field(default_factory=dict)
    #: CPU seconds spent in each synchronous source's collect() since start.
    collect_cpu_seconds: dict[str, float] = field(default_factory=dict)
    #: source name -> plugin name, so log lines name both.
    plugins: dict[str, str] = field(default_factory=dict)
    batches_sent: int = 0
    samples_sent: int = 0
    send_failures: int = 0
    dead_lettered: int = 0
    #: Batches refused for good, by the hub's error code (or ``foreign_host`` / ``foreign_hub``
    #: for a spooled batch of an earlier identity, dead-lettered without being sent).
    refused: Counter[str] = field(default_factory=Counter)
    spool_bytes: int = 0
    spool_batches: int = 0
    #: This host's clock minus the hub's, from the last answer's Date header (None: not yet known).
    clock_offset_s: float | None = None
    _last_logged: dict[tuple[str, str], float] = field(default_factory=dict)

    def error(
        self,
        source: str,
        kind: str,
        message: str,
        *args: object,
        count: int = 1,
        exc_info: BaseException | None = None,
    ) -> None:
        """Count an error of ``source`` and log it, at most once per LOG_EVERY per kind."""
        self.errors[(source, kind)] += count
        key = (source, kind)
        now = time.monotonic()
        last = self._last_logged.get(key)
        if last is None or now - last >= LOG_EVERY:
            self._last_logged[key] = now
            total = self.errors[key]
            suffix = f" ({total} so far)" if total > count else ""
            plugin = self.plugins.get(source, "?")
            log.error(
                "source %s (plugin %s): " + message + suffix, source, plugin, *args, exc_info=exc_info
            )

    def drop(self, reason: str, samples: int) -> None:
        self.dropped[reason] += samples
