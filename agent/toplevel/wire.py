"""Rules both sides of the wire obey (docs/protocol.md), importable by the agent without the hub.

The agent refuses a sample the hub would refuse, so one bad sample costs a log line on the host
rather than a 400 for its whole batch: both sides read the pattern and the limits from here. The
hub's ``max_labels`` and ``max_label_length`` settings default to the limits below; an operator
may loosen them, and the agent then stays within the defaults.
"""

from __future__ import annotations

import re
import time
from typing import Any

#: A metric name: dotted, lowercase, each part of letters, digits and underscores.
METRIC_PATTERN = r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$"
METRIC_RE = re.compile(METRIC_PATTERN)
#: The longest metric name and host name (the hub's series.metric and hosts.name columns).
MAX_METRIC = 200
MAX_HOST = 255
#: Labels on one series, and the longest label name or value.
MAX_LABELS = 32
MAX_LABEL_LENGTH = 256
#: One batch's size: samples in all, series, and points of one series. The hub's settings of the
#: same names default to these; the agent seals a batch before it passes any of them, so a batch
#: it builds is never refused 413 (and dead-lettered) for its size.
MAX_SAMPLES_PER_BATCH = 50_000
MAX_SERIES_PER_BATCH = 5_000
MAX_POINTS_PER_SERIES = 1_000


def now_ms() -> int:
    """Now, in the wire's unit: integer epoch milliseconds."""
    return int(time.time() * 1000)


def error_body(code: str, message: str) -> dict[str, Any]:
    """The hub's one JSON error shape: ``{"error": {"code": …, "message": …}}``."""
    return {"error": {"code": code, "message": message}}


def read_error(body: object) -> tuple[str, str] | None:
    """``(code, message)`` from a body of the hub's error shape; ``None`` for any other body."""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        error = body["error"]
        return str(error.get("code", "")), str(error.get("message", ""))
    return None
