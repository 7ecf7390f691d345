"""An alert instance (rule × series, or rule × host) and the moves between its states."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any, NamedTuple

INACTIVE, PENDING, FIRING, RESOLVED = "inactive", "pending", "firing", "resolved"


@dataclass(slots=True)
class Instance:
    rule: str
    kind: str
    host: str
    metric: str
    labels: dict[str, str]
    series_id: int | None
    state: str = INACTIVE
    severity: str = "warning"
    value: float | None = None
    #: When the condition started to hold (pending), in epoch ms.
    since: int = 0
    starts_at: int | None = None
    ends_at: int | None = None
    #: The window's aggregate for over = avg | max | min (None for over = last).
    window: Window | None = None
    #: Last points' anomaly flags for anomaly rules, newest last.
    flags: list[bool] = field(default_factory=list)
    #: The last repeat queued for this firing episode (rule ``repeat``), counted from starts_at.
    repeated: int = 0
    #: While firing at warning: since when the value has held at critical (None: it does not).
    rising_since: int | None = None

    @property
    def key(self) -> tuple[str, str, int | None]:
        return (self.rule, self.host, self.series_id)


class Transition(NamedTuple):
    """One move of an instance, as stored in the history and handed to the notifiers.

    A named tuple, not a frozen dataclass: a crossing storm makes one per rule and series, and
    building one took 0.92 µs frozen (13 ``object.__setattr__`` calls) against 0.20 µs as a named
    tuple (timeit, best of 5 × 100,000, Python 3.11, the 2-core development machine)."""

    rule: str
    kind: str
    host: str
    metric: str
    labels: dict[str, str]
    series_id: int | None
    previous: str
    state: str
    severity: str
    value: float | None
    at: int
    starts_at: int | None
    ends_at: int | None

    def alert_json(self, base_url: str = "") -> dict[str, Any]:
        """One entry of the webhook's ``alerts`` list (the issue's Contract)."""
        return {
            "rule": self.rule, "kind": self.kind, "severity": self.severity,
            "state": self.state, "host": self.host, "metric": self.metric,
            "labels": self.labels, "value": self.value, "starts_at": self.starts_at,
            "ends_at": self.ends_at, "url": chart_url(base_url, self.host, self.starts_at or self.at),
        }  # fmt: skip


def chart_url(base_url: str, host: str, at_ms: int) -> str:
    """A link to the host's charts around the moment the alert started."""
    return f"{base_url.rstrip('/')}/#host={host}&at={at_ms}"


class Window:
    """avg, max or min of the points of the last ``span_ms``, kept as points arrive: O(1)
    amortised per point, whatever the window's length (a list re-scanned per batch costs the
    window's length each time).

    max and min keep a monotonic deque (a point that can never be the extreme again is dropped on
    arrival); avg keeps every point and a running sum, re-added from the points once as many
    points have left as the window holds, so rounding cannot drift."""

    __slots__ = ("_left", "_over", "_points", "_span", "_sum")

    def __init__(self, over: str, span_ms: int) -> None:
        self._over, self._span = over, span_ms
        self._points: deque[tuple[int, float]] = deque()
        self._sum, self._left = 0.0, 0

    def add(self, ts: list[int], values: list[float]) -> float:
        """Take a batch's points (oldest first) and return the window's aggregate at the newest."""
        points = self._points
        over = self._over
        for t, x in zip(ts, values, strict=True):
            if over == "avg":
                self._sum += x
            elif over == "max":
                while points and points[-1][1] <= x:
                    points.pop()
            else:
                while points and points[-1][1] >= x:
                    points.pop()
            points.append((t, x))
        cut = ts[-1] - self._span
        while points[0][0] <= cut:
            t, x = points.popleft()
            if over == "avg":
                self._sum -= x
                self._left += 1
        if over != "avg":
            return points[0][1]
        if self._left >= len(points):
            self._sum, self._left = sum(x for _, x in points), 0
        return self._sum / len(points)
