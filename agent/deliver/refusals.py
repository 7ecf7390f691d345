"""Batches refused for good, counted and logged so that a refusal that goes on is never silent.

The first refusal is logged at once; while refusals go on, one summary line at least every
``every`` seconds says how many batches and samples were refused since the last line and why —
a spool of thousands of an old identity's batches gives a handful of lines, not thousands. Each
refusal is also counted in ``Stats.refused`` by the hub's error code (``agent.refused`` series).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from pathlib import Path

from hostpulse.agent.deliver.batch import Batch
from hostpulse.agent.stats import Stats

log = logging.getLogger("hostpulse.agent.delivery")


class RefusalLog:
    def __init__(self, stats: Stats, deadletter: Path, every: float = 60.0) -> None:
        self.stats = stats
        self.deadletter = deadletter
        self.every = every
        self._batches: Counter[str] = Counter()
        self._samples = 0
        self._example: dict[str, str] = {}
        self._since = 0.0
        self._last_line: float | None = None

    def note(self, batch: Batch, code: str, reason: str) -> None:
        """Count one refused batch under ``code``; log now if a line is due."""
        self.stats.refused[code] += 1
        if not self._batches:
            self._since = time.monotonic()
        self._batches[code] += 1
        self._samples += batch.samples
        self._example.setdefault(code, reason)
        if self._last_line is None or time.monotonic() - self._last_line >= self.every:
            self.flush()

    def flush(self) -> None:
        """Log what was refused since the last line (nothing when nothing was)."""
        if not self._batches:
            return
        now = time.monotonic()
        why = "; ".join(
            f"{count} {code}: {self._example[code]}" for code, count in self._batches.most_common()
        )
        log.error(
            "hub refused %d batch(es) (%d samples) for good in the last %.0fs, kept in %s: %s",
            sum(self._batches.values()), self._samples, now - self._since, self.deadletter, why,
        )
        self._last_line = now
        self._batches.clear()
        self._example.clear()
        self._samples = 0
